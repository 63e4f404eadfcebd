// A run's report from a synthetic metrics.jsonl: a point per record in each
// plot, plots of series the log lacks left out with a line, a resumed run's
// replayed steps and a torn last line handled as weft train handles them.

#include "cli/report/run_report.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "report_testing.h"
#include "support/error_testing.h"
#include "support/temp_dir.h"

namespace weft::cli {
namespace {

namespace fs = std::filesystem;
using testing::eval_record;
using testing::points_of;
using testing::read_text;
using testing::train_record;
using testing::write_text;

const char* kStart =
    "{\"event\":\"start\",\"step\":0,\"world\":4,\"dp\":2,\"tp\":2,\"sequence_parallel\":false,"
    "\"zero\":true,\"communicator\":\"simulated ranks (4 threads)\",\"compute\":\"f32 on cpu\","
    "\"parameters\":6576,\"peak_flops\":1.3e11}\n";

// A language-model run of 30 recorded steps, evaluated every 10.
std::string lm_log() {
  std::string log = kStart;
  for (int step = 1; step <= 30; ++step) {
    log += train_record(step, 4.0 - 0.05 * step, 0.01);
    if (step % 10 == 0) log += eval_record(step, 4.1 - 0.05 * step);
  }
  return log;
}

TEST(RunReport, EveryRecordIsAPointOfItsPlots) {
  testing::TempDir run;
  write_text(run / "metrics.jsonl", lm_log());
  write_text(run / "config.json", "{\"train\":{\"steps\":30,\"out\":\"runs/<x>\"}}");
  const ReportWritten written = write_run_report(run.path());
  EXPECT_EQ(written.page, run / "report.html");

  const std::string loss = read_text(run / "report/loss_steps.svg");
  EXPECT_EQ(points_of(loss, "train"), 30);
  EXPECT_EQ(points_of(loss, "validation"), 3);
  const std::string tokens = read_text(run / "report/loss_tokens.svg");
  EXPECT_EQ(points_of(tokens, "train"), 30);
  EXPECT_EQ(points_of(tokens, "validation"), 3);
  EXPECT_NE(tokens.find(">16k<"), std::string::npos) << "30 steps of 512 tokens: 15,360";
  for (const char* file :
       {"learning_rate.svg", "grad_norm.svg", "throughput.svg", "mfu.svg", "comm_wait.svg"}) {
    const std::string svg = read_text(run / ("report/" + std::string(file)));
    EXPECT_EQ(testing::polyline_count(svg), 1) << file;
    EXPECT_NE(svg.find("points=\""), std::string::npos) << file;
  }
  EXPECT_EQ(points_of(read_text(run / "report/comm_wait.svg"), "waiting in TP and DP collectives"),
            30);

  const std::string page = read_text(run / "report.html");
  for (const char* file : {"loss_steps", "loss_tokens", "learning_rate", "grad_norm", "throughput",
                           "mfu", "comm_wait"}) {
    EXPECT_NE(page.find("src=\"report/" + std::string(file) + ".svg\""), std::string::npos) << file;
  }
  EXPECT_EQ(page.find("<script"), std::string::npos);
  // The layout and the config, as tables; text escaped.
  EXPECT_NE(page.find("simulated ranks (4 threads)"), std::string::npos);
  EXPECT_NE(page.find("runs/&lt;x&gt;"), std::string::npos);
  EXPECT_NE(page.find("step 30 of 30"), std::string::npos);
}

TEST(RunReport, PlotsOfAbsentSeriesAreLeftOutWithALine) {
  testing::TempDir run;
  std::string log;
  for (int step = 1; step <= 5; ++step) log += train_record(step, 3.0);  // one rank, no evals
  write_text(run / "metrics.jsonl", log);
  const ReportWritten written = write_run_report(run.path());

  EXPECT_FALSE(fs::exists(run / "report/translation_quality.svg"));
  EXPECT_FALSE(fs::exists(run / "report/comm_wait.svg"));
  EXPECT_FALSE(fs::exists(run / "report/device_memory.svg"));
  EXPECT_EQ(points_of(read_text(run / "report/loss_steps.svg"), "validation"), -1);
  EXPECT_EQ(written.plots, 6);
  ASSERT_EQ(written.omitted.size(), 3u);

  const std::string page = read_text(run / "report.html");
  EXPECT_EQ(page.find("translation_quality.svg"), std::string::npos);
  EXPECT_NE(page.find("Held-out translation quality (greedy): not recorded"), std::string::npos);
  EXPECT_NE(page.find("Communication wait: zero at every step"), std::string::npos);
  EXPECT_NE(page.find("validation: not recorded"), std::string::npos);
  EXPECT_NE(page.find("holds no config.json"), std::string::npos);
  EXPECT_NE(page.find("no start record"), std::string::npos);
}

TEST(RunReport, TranslationScoresArePlottedAtTheirSteps) {
  testing::TempDir run;
  std::string log;
  for (int step = 1; step <= 4; ++step) log += train_record(step, 3.0);
  log +=
      "{\"event\":\"quality\",\"step\":4,\"split\":\"val\",\"sentences\":500,"
      "\"exact_match\":0.25,\"bleu\":31.5,\"chrf\":55.0}\n";
  write_text(run / "metrics.jsonl", log);
  write_run_report(run.path());
  const std::string svg = read_text(run / "report/translation_quality.svg");
  EXPECT_EQ(points_of(svg, "BLEU"), 1);
  EXPECT_EQ(points_of(svg, "chrF2"), 1);
  EXPECT_EQ(points_of(svg, "exact match \\(%\\)"), 1);
  EXPECT_NE(read_text(run / "report.html").find("BLEU 31.50, chrF2 55.00, exact match 25.0%"),
            std::string::npos);
}

TEST(MetricsLog, AResumedRunsReplayedStepsReplaceTheOnesBefore) {
  testing::TempDir run;
  // Killed after step 6 with its checkpoint at 4: steps 5 and 6 come again.
  std::string log;
  for (int step = 1; step <= 6; ++step) log += train_record(step, 3.0);
  log += eval_record(5, 9.0);
  log += kStart;
  for (int step = 5; step <= 8; ++step) log += train_record(step, 2.0);
  write_text(run / "metrics.jsonl", log);
  const MetricsLog read = read_metrics_log(run / "metrics.jsonl");
  const StepSeries loss = step_series(read, "train", "loss");
  EXPECT_EQ(loss.steps, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(loss.values[4], 2.0);
  EXPECT_TRUE(step_series(read, "eval", "val_loss").steps.empty());
  EXPECT_DOUBLE_EQ(TokenClock(read).at(8), 8 * 512.0);
}

TEST(MetricsLog, ATornLastLineIsLeftOut) {
  testing::TempDir run;
  write_text(run / "metrics.jsonl", train_record(1, 3.0) + "{\"event\":\"train\",\"st");
  const MetricsLog read = read_metrics_log(run / "metrics.jsonl");
  EXPECT_EQ(read.records.size(), 1u);
  EXPECT_EQ(read.torn_tail_bytes, 20);
}

TEST(MetricsLog, TokensBetweenRecordsAndFromOlderLogs) {
  testing::TempDir run;
  // Every 10th step recorded (log.every 10), without "tokens": tokens_per_s x step_s.
  write_text(run / "metrics.jsonl",
             "{\"event\":\"train\",\"step\":10,\"tokens_per_s\":1000.0,\"step_s\":0.5}\n"
             "{\"event\":\"train\",\"step\":20,\"tokens_per_s\":2000.0,\"step_s\":0.5}\n");
  const TokenClock clock(read_metrics_log(run / "metrics.jsonl"));
  EXPECT_DOUBLE_EQ(clock.at(10), 5000.0);
  EXPECT_DOUBLE_EQ(clock.at(15), 10000.0);
  EXPECT_DOUBLE_EQ(clock.at(20), 15000.0);
  EXPECT_DOUBLE_EQ(clock.at(25), 20000.0);
}

TEST(MetricsLog, CorruptLinesAreRefusedByNumber) {
  testing::TempDir run;
  const auto refusal = [&](const std::string& text) {
    write_text(run / "metrics.jsonl", text);
    return testing::error_of([&] { read_metrics_log(run / "metrics.jsonl"); });
  };
  const std::string good = train_record(1, 3.0);
  EXPECT_NE(refusal(good + "not json\n" + good).find("line 2 is not JSON"), std::string::npos);
  EXPECT_NE(refusal(good + "[1,2]\n").find("line 2 is not a metrics record"), std::string::npos);
  EXPECT_NE(refusal("{\"step\":1}\n").find("line 1 is not a metrics record"), std::string::npos);
  const std::string wrong_type = refusal(good + "{\"event\":\"train\",\"loss\":\"low\"}\n");
  EXPECT_NE(wrong_type.find("line 2: \"loss\" of a train record is \"low\", not a number"),
            std::string::npos)
      << wrong_type;
}

}  // namespace
}  // namespace weft::cli
