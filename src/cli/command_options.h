#pragma once
// Option parsing shared by the subcommands.

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::cli {

// Throws weft::Error naming `where` when `text` holds a word between percent
// signs (%value%, %canonical_option%): Boost.Program_options formats its
// errors by replacing such placeholders until none is left, so a refused
// value that contains one would loop forever instead of being reported.
void refuse_format_placeholders(std::string_view text, const std::string& where);

// argv parsed against `opts` (every argument checked by
// refuse_format_placeholders first). A stray positional argument (a config file
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

// The value of an unsigned option (a seed). Boost's own reads "-1" as
// 2^64 - 1; this one refuses any minus sign as an invalid value of the option.
class UnsignedValue : public boost::program_options::typed_value<uint64_t> {
 public:
  explicit UnsignedValue(uint64_t* store) : typed_value(store) {}
  void xparse(boost::any& value, const std::vector<std::string>& tokens) const override;
};
inline UnsignedValue* unsigned_value(uint64_t* store = nullptr) { return new UnsignedValue(store); }

// The --checkpoint option every inference command takes.
inline constexpr const char* kCheckpointHelp =
    "run directory (its newest checkpoint that verifies) or one checkpoint directory";

// Throws weft::Error unless `value` is set, naming the option and what it is for.
void require_option(const std::string& value, const char* option, const char* what);

}  // namespace weft::cli
