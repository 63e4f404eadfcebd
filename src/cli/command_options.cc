#include "cli/command_options.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {

void refuse_format_placeholders(std::string_view text, const std::string& where) {
  for (size_t open = text.find('%'); open != std::string_view::npos;) {
    const size_t close = text.find('%', open + 1);
    if (close == std::string_view::npos) return;
    const std::string_view word = text.substr(open + 1, close - open - 1);
    const bool placeholder = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
      return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
    });
    if (placeholder) {
      throw Error(detail::concat(where, " holds '%", word, "%': text between percent signs is ",
                                 "not accepted in options"));
    }
    open = close;
  }
}

po::parsed_options parse_arguments(int argc, char** argv, const po::options_description& opts) {
  for (int i = 1; i < argc; ++i) {
    refuse_format_placeholders(argv[i], detail::concat("argument '", argv[i], "'"));
  }
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

void UnsignedValue::xparse(boost::any& value, const std::vector<std::string>& tokens) const {
  for (const std::string& token : tokens) {
    if (token.find('-') != std::string::npos) throw po::invalid_option_value(token);
  }
  typed_value::xparse(value, tokens);
}

void require_option(const std::string& value, const char* option, const char* what) {
  WEFT_CHECK(!value.empty(), "--", option, " is required: ", what);
}

}  // namespace weft::cli
