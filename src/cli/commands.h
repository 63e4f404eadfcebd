#pragma once
// Entry points of the weft subcommands; argv[0] is the subcommand's name.

namespace weft::cli {

int run_bench(int argc, char** argv);

}  // namespace weft::cli
