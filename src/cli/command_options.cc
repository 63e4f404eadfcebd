#include "cli/command_options.h"

#include <iostream>

#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {

po::parsed_options parse_arguments(int argc, char** argv, const po::options_description& opts) {
  po::parsed_options parsed = po::command_line_parser(argc, argv).options(opts).run();
  for (const po::option& o : parsed.options) {
    if (o.position_key < 0) continue;
    const std::string token = o.original_tokens.empty() ? std::string() : o.original_tokens[0];
    throw Error(detail::concat("unexpected argument '", token, "': options are written --name value",
                               " (a config file: --config FILE)"));
  }
  return parsed;
}

bool parse_command_options(int argc, char** argv, const po::options_description& opts,
                           po::variables_map& vm) {
  try {
    po::store(parse_arguments(argc, argv, opts), vm);
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
