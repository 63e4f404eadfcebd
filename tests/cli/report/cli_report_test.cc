// weft report as a user runs it: every bad input is refused with one line
// naming what is wrong and exit code 2, and nothing in the run directory
// changes; weft train writes the report itself, and a report it cannot
// write costs a warning, not the run.

#include <gtest/gtest.h>

#include <algorithm>

#include "cli/cli_testing.h"
#include "report_testing.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

using CliReport = CliTest;

TEST_F(CliReport, WritesThePageAndItsPlots) {
  fs::create_directories(dir_ / "run");
  write_file(dir_ / "run/metrics.jsonl", train_record(1, 3.0) + train_record(2, 2.5));
  const CommandResult r = weft("report --run run/");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote run/report.html (6 plots)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("left out: Held-out translation quality"), std::string::npos);
  EXPECT_EQ(points_of(read_file(dir_ / "run/report/loss_steps.svg"), "train"), 2);
  EXPECT_NE(read_file(dir_ / "run/report.html").find("<h1>weft run run</h1>"), std::string::npos);
  EXPECT_EQ(weft("report --help").exit_code, 0);
}

// A refusal: exit 2, one line naming the problem, the run directory as it was.
void expect_report_refused(const CommandResult& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(part), std::string::npos) << "'" << part << "' not in: " << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST_F(CliReport, BadInputsAreRefusedWithExitCode2) {
  expect_report_refused(weft("report"), "--run is required");
  expect_report_refused(weft("report --run missing"), "run directory 'missing' does not exist");
  write_file(dir_ / "file", "x");
  expect_report_refused(weft("report --run file"), "'file' is not a directory");
  fs::create_directories(dir_ / "empty");
  expect_report_refused(weft("report --run empty"), "'empty' holds no metrics.jsonl");
  write_file(dir_ / "empty/metrics.jsonl", "");
  expect_report_refused(weft("report --run empty"), "holds no records yet");
  EXPECT_FALSE(fs::exists(dir_ / "empty/report.html"));
  EXPECT_FALSE(fs::exists(dir_ / "empty/report"));
  expect_report_refused(weft("report --run empty --steps 3"), "steps");
}

TEST_F(CliReport, CorruptFilesAreRefusedAndKept) {
  fs::create_directories(dir_ / "run");
  const std::string corrupt =
      train_record(1, 3.0) + "{\"event\":\"train\",\"step\":2,\n" + train_record(3, 2.0);
  write_file(dir_ / "run/metrics.jsonl", corrupt);
  expect_report_refused(weft("report --run run"), "'run/metrics.jsonl' line 2 is not JSON");
  EXPECT_EQ(read_file(dir_ / "run/metrics.jsonl"), corrupt);
  EXPECT_FALSE(fs::exists(dir_ / "run/report.html"));

  write_file(dir_ / "run/metrics.jsonl", train_record(1, 3.0));
  write_file(dir_ / "run/config.json", "{\"train\": ");
  expect_report_refused(weft("report --run run"), "'run/config.json' is not a JSON object");
  EXPECT_EQ(read_file(dir_ / "run/config.json"), "{\"train\": ");

  write_file(dir_ / "run/config.json", "{}");
  write_file(dir_ / "run/report", "my notes");
  expect_report_refused(weft("report --run run"), "'run/report' is in the way");
  EXPECT_EQ(read_file(dir_ / "run/report"), "my notes");
  EXPECT_FALSE(fs::exists(dir_ / "run/report.html"));
}

TEST_F(CliReport, TrainingWritesTheReportAndAFailureOnlyWarns) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --tokenizer char --out data/corpus").exit_code, 0);
  std::string options = kTinyLm;
  options.replace(options.find("--train.eval_every 0"), 20, "--train.eval_every 3");
  const std::string run = "train " + options + " --train.steps 6";
  const CommandResult trained = weft(run + " --train.out runs/a");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_EQ(trained.output.find("warning"), std::string::npos) << trained.output;
  EXPECT_EQ(points_of(read_file(dir_ / "runs/a/report/loss_steps.svg"), "train"), 6);
  EXPECT_EQ(points_of(read_file(dir_ / "runs/a/report/loss_steps.svg"), "validation"), 2);
  const std::string page = read_file(dir_ / "runs/a/report.html");
  EXPECT_NE(page.find("single rank"), std::string::npos) << "the layout table";
  EXPECT_NE(page.find("[optim]"), std::string::npos) << "the config table";

  fs::create_directories(dir_ / "runs/b");
  write_file(dir_ / "runs/b/report", "in the way");
  const CommandResult warned = weft(run + " --train.out runs/b");
  EXPECT_EQ(warned.exit_code, 0) << warned.output;
  EXPECT_NE(warned.output.find("warning: report.html not refreshed: 'runs/b/report' is in the way"),
            std::string::npos)
      << warned.output;
  EXPECT_EQ(train_losses(dir_ / "runs/b/metrics.jsonl").size(), 6u);
  EXPECT_EQ(read_file(dir_ / "runs/b/report"), "in the way");
}

}  // namespace
}  // namespace weft::testing
