#pragma once
// Option parsing shared by the subcommands.

#include <boost/program_options.hpp>

namespace weft::cli {

// argv parsed against `opts`. A stray positional argument (a config file
// given without --config, a typo) throws weft::Error naming it: no command
// takes positional arguments, and an ignored one would change nothing.
boost::program_options::parsed_options parse_arguments(
    int argc, char** argv, const boost::program_options::options_description& opts);

// Parses argv against `opts` into `vm`. On --help prints the options with
// their defaults and returns false: the command has nothing more to do.
// Malformed or unknown options throw weft::Error with the parser's message.
bool parse_command_options(int argc, char** argv,
                           const boost::program_options::options_description& opts,
                           boost::program_options::variables_map& vm);

// The --checkpoint option every inference command takes.
inline constexpr const char* kCheckpointHelp =
    "run directory (its newest checkpoint that verifies) or one checkpoint directory";

// Throws weft::Error unless `value` is set, naming the option and what it is for.
void require_option(const std::string& value, const char* option, const char* what);

}  // namespace weft::cli
