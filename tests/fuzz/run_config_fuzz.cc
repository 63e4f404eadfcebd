// parse_run_config: an INI file given as `weft train --config FILE`, through
// the option table's parsing and every check of the values it sets.

#include "cli/run_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  std::string path = fuzz::write_file("config.ini", fuzz::as_text(data, size));
  fuzz::accept_or_refuse([&] {
    std::string program = "weft train", flag = "--config";
    char* argv[] = {program.data(), flag.data(), path.data(), nullptr};
    bool help_requested = false;
    cli::parse_run_config(3, argv, &help_requested);
  });
  return 0;
}
