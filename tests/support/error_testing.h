#pragma once
// The message of the weft::Error a call throws, for tests that check what a
// refusal says; fails the test when nothing is thrown.

#include <gtest/gtest.h>

#include <string>

#include "weft/tensor/error.h"

namespace weft::testing {

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no weft::Error thrown";
  return "(no error)";
}

}  // namespace weft::testing
