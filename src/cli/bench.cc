#include <cstdio>

#include "cli/commands.h"

namespace weft::cli {

int run_bench(int, char**) {
  std::fprintf(stderr, "weft bench: not built yet\n");
  return 2;
}

}  // namespace weft::cli
