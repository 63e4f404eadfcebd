#include "cli/command_options.h"

#include <iostream>

#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {

bool parse_command_options(int argc, char** argv, const po::options_description& opts,
                           po::variables_map& vm) {
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(e.what());
  }
  return true;
}

void require_option(const std::string& value, const char* option, const char* what) {
  WEFT_CHECK(!value.empty(), "--", option, " is required: ", what);
}

}  // namespace weft::cli
