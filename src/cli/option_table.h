#pragma once
// A command's keys as one table, one row per key: its name, the member it
// fills, its default, its help and its check. Everything else follows from
// the rows: the Boost.Program_options declarations for the INI file and the
// command line (so --help), the copy into the config struct, the refusals of
// out-of-range values, and the JSON of the effective config. A key added to
// the table is parsed, checked and written; none of the four can forget it.
//
// A row's name is "section.key": the INI section and key, --section.key on
// the command line, and j["section"]["key"] in the JSON.

#include <boost/program_options.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cli/command_options.h"
#include "cli/option_checks.h"
#include "weft/model/config_json.h"
#include "weft/tensor/error.h"

namespace weft::cli {

// For a key without a default: the member keeps the value it had before the
// table was read (e.g. the model preset's) unless the key is given.
inline constexpr std::nullopt_t kNoDefault = std::nullopt;

// Where a key's value lives in a Config: a member, or a member of a member
// (RunConfig::compute.device). One path serves reading and writing.
template <typename Config, typename T>
class Member {
 public:
  Member(T Config::*member) : Member(path(member), 0) {}
  template <typename Part>
  Member(Part Config::*part, T Part::*member) : Member(path(part, member), 0) {}

  T& of(Config& c) const { return *get_(c); }
  const T& of(const Config& c) const { return *read_(c); }

 private:
  // Generic in the constness of the Config, so one lambda makes both accessors.
  static auto path(T Config::*member) {
    return [member](auto& c) { return &(c.*member); };
  }
  template <typename Part>
  static auto path(Part Config::*part, T Part::*member) {
    return [part, member](auto& c) { return &((c.*part).*member); };
  }
  template <typename Path>
  Member(Path path, int) : get_(path), read_(path) {}

  std::function<T*(Config&)> get_;
  std::function<const T*(const Config&)> read_;
};

// The Config and value type a row's member (a member pointer or a Member) names.
template <typename M>
struct MemberTraits;
template <typename C, typename T>
struct MemberTraits<T C::*> {
  using Config = C;
  using Type = T;
};
template <typename C, typename T>
struct MemberTraits<Member<C, T>> {
  using Config = C;
  using Type = T;
};

// One row, its type erased. Built by key(), flag() and word() below.
template <typename Config>
struct Option {
  std::string name;   // "train.steps"
  std::string help;   // as --help shows it
  std::string alias;  // a second spelling of the same key, or empty
  // A fresh value semantic of the key's type; without the default for the alias.
  std::function<boost::program_options::value_semantic*(bool with_default)> value;
  // Copies the parsed value into its member; refuses words that name nothing.
  std::function<void(const boost::program_options::variable_value&, Config&)> copy;
  // Throws weft::Error "KEY must be ..., got VALUE" when the member is out of range.
  std::function<void(const Config&)> check;
  std::function<nlohmann::json(const Config&)> write;

  // Accepts `other` as well (not both at once); --help shows it, JSON does not.
  Option also_spelled(std::string other) && {
    alias = std::move(other);
    return std::move(*this);
  }
};

namespace detail_table {

// A value as a refusal quotes it: words in quotes, numbers as they are.
template <typename T>
std::string shown(const T& value) {
  if constexpr (std::is_convertible_v<T, std::string>) {
    return weft::detail::concat("'", value, "'");
  } else {
    return weft::detail::concat(value);
  }
}

}  // namespace detail_table

// A key whose value is its member's type T, with `fallback` as its default
// (kNoDefault: the member's own value stays unless given), refused unless
// `check` holds.
template <typename M, typename Check = Anything>
Option<typename MemberTraits<M>::Config> key(std::string name, M member,
                                             std::optional<typename MemberTraits<M>::Type> fallback,
                                             std::string help, Check check = {}) {
  using Config = typename MemberTraits<M>::Config;
  using T = typename MemberTraits<M>::Type;
  const Member<Config, T> field(member);
  Option<Config> o;
  o.name = name;
  o.help = std::move(help);
  o.value = [fallback](bool with_default) {
    boost::program_options::typed_value<T>* v;
    if constexpr (std::is_same_v<T, uint64_t>) {
      v = unsigned_value();
    } else {
      v = boost::program_options::value<T>();
    }
    if (with_default && fallback) v->default_value(*fallback);
    return v;
  };
  o.copy = [field](const boost::program_options::variable_value& v, Config& c) {
    field.of(c) = v.as<T>();
  };
  o.check = [name, field, check](const Config& c) {
    const T& value = field.of(c);
    WEFT_CHECK(check.holds(value), name, " must be ", check.expected, ", got ",
               detail_table::shown(value));
  };
  o.write = [field](const Config& c) { return nlohmann::json(field.of(c)); };
  return o;
}

// A bool key that, given without a value on the command line, means true.
template <typename M>
Option<typename MemberTraits<M>::Config> flag(std::string name, M member, bool fallback,
                                              std::string help) {
  auto o = key(std::move(name), member, fallback, std::move(help));
  o.value = [fallback](bool with_default) {
    auto* v = boost::program_options::value<bool>()->implicit_value(true);
    if (with_default) v->default_value(fallback);
    return v;
  };
  return o;
}

// A key naming an enum value by the model layer's word for it
// (weft::enum_names); --help lists the words after `help`.
template <typename M>
Option<typename MemberTraits<M>::Config> word(
    std::string name, M member, std::optional<typename MemberTraits<M>::Type> fallback,
    const std::string& help) {
  using Config = typename MemberTraits<M>::Config;
  using Enum = typename MemberTraits<M>::Type;
  const Member<Config, Enum> field(member);
  std::vector<std::string> words;
  std::string listed;  // "pre | post"
  for (const auto& [value, w] : enum_names<Enum>()) {
    words.emplace_back(w);
    listed += (listed.empty() ? "" : " | ") + words.back();
  }
  Option<Config> o;
  o.name = name;
  o.help = help + ": " + listed;
  o.value = [fallback](bool with_default) {
    auto* v = boost::program_options::value<std::string>();
    if (with_default && fallback) v->default_value(enum_name(*fallback));
    return v;
  };
  o.copy = [name, field, words](const boost::program_options::variable_value& v, Config& c) {
    const std::string& given = v.as<std::string>();
    const std::optional<Enum> value = enum_from_name<Enum>(given);
    WEFT_CHECK(value.has_value(), name, " must be ", list_words(words, "'"), ", got '", given, "'");
    field.of(c) = *value;
  };
  o.check = [](const Config&) {};  // copy() refused every word that names nothing
  o.write = [name, field](const Config& c) {
    const char* w = enum_name(field.of(c));
    WEFT_CHECK(w != nullptr, name, " holds an enum value with no name");
    return nlohmann::json(w);
  };
  return o;
}

template <typename Config>
class OptionTable {
 public:
  // `captions`: a section's heading in --help; "[section]" where none is given.
  OptionTable(std::map<std::string, std::string> captions, std::vector<Option<Config>> options)
      : captions_(std::move(captions)), options_(std::move(options)) {
    for (const Option<Config>& o : options_) {
      WEFT_CHECK(o.name.find('.') != std::string::npos, "option '", o.name,
                 "' names no section: keys are spelled section.key");
    }
  }

  const std::vector<Option<Config>>& options() const { return options_; }

  // The declarations, grouped by section in the order the table first names them.
  boost::program_options::options_description describe() const {
    std::vector<std::string> order;
    std::map<std::string, boost::program_options::options_description> groups;
    for (const Option<Config>& o : options_) {
      const std::string s = section(o);
      if (!groups.count(s)) {
        order.push_back(s);
        const auto caption = captions_.find(s);
        groups.emplace(s, caption != captions_.end() ? caption->second : "[" + s + "]");
      }
      auto add = groups.at(s).add_options();
      add(o.name.c_str(), o.value(true), o.help.c_str());
      if (!o.alias.empty()) {
        add(o.alias.c_str(), o.value(false), ("the same as " + o.name).c_str());
      }
    }
    boost::program_options::options_description all;
    for (const std::string& s : order) all.add(groups.at(s));
    return all;
  }

  // Copies every key given, or defaulted, into `c`, in table order.
  void read(const boost::program_options::variables_map& vm, Config& c) const {
    for (const Option<Config>& o : options_) {
      if (!o.alias.empty() && vm.count(o.alias)) {
        WEFT_CHECK(!vm.count(o.name) || vm[o.name].defaulted(), "give ", o.alias, " or ", o.name,
                   ", not both");
        o.copy(vm[o.alias], c);
      } else if (vm.count(o.name)) {
        o.copy(vm[o.name], c);
      }
    }
  }

  // Refuses the first key, in table order, whose value is out of range.
  void check(const Config& c) const {
    for (const Option<Config>& o : options_) o.check(c);
  }

  // j[section][key] for every row (what `j` holds besides stays).
  void write(const Config& c, nlohmann::json& j) const {
    for (const Option<Config>& o : options_) {
      j[section(o)][o.name.substr(o.name.find('.') + 1)] = o.write(c);
    }
  }

  static std::string section(const Option<Config>& o) { return o.name.substr(0, o.name.find('.')); }

 private:
  std::map<std::string, std::string> captions_;
  std::vector<Option<Config>> options_;
};

}  // namespace weft::cli
