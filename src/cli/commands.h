#pragma once
// Entry points of the weft subcommands; argv[0] is the subcommand's name.

namespace weft::cli {

int run_prepare(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_fill(int argc, char** argv);
int run_translate(int argc, char** argv);
int run_export(int argc, char** argv);
int run_average(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_report(int argc, char** argv);

}  // namespace weft::cli
