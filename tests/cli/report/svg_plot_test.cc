// The SVG line plot: round ticks that cover the data, labels in one unit per
// axis, one polyline per series with one point per value, long series
// thinned, text escaped.

#include "cli/report/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "report_testing.h"

namespace weft::cli {
namespace {

TEST(NiceTicks, CoverTheRangeInRoundSteps) {
  EXPECT_EQ(nice_ticks(0.0, 1.0, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(nice_ticks(10.0, 40.0, 6), (std::vector<double>{10, 15, 20, 25, 30, 35, 40}));
  const std::vector<double> loss = nice_ticks(1.83, 4.21, 5);
  EXPECT_LE(loss.front(), 1.83);
  EXPECT_GE(loss.back(), 4.21);
  EXPECT_NEAR(loss[1] - loss[0], 0.5, 1e-12);
}

TEST(NiceTicks, OneValueGetsABandAroundIt) {
  const std::vector<double> ticks = nice_ticks(3.0, 3.0, 5);
  ASSERT_GE(ticks.size(), 2u);
  EXPECT_LT(ticks.front(), 3.0);
  EXPECT_GT(ticks.back(), 3.0);
  EXPECT_GE(nice_ticks(0.0, 0.0, 5).size(), 2u);
}

TEST(TickLabels, OneUnitPerAxis) {
  EXPECT_EQ(tick_labels({0.0, 0.5, 1.0}), (std::vector<std::string>{"0", "0.5", "1.0"}));
  EXPECT_EQ(tick_labels({4000, 6000, 8000, 10000, 12000}),
            (std::vector<std::string>{"4k", "6k", "8k", "10k", "12k"}));
  EXPECT_EQ(tick_labels({0, 500000, 1000000, 1500000}),
            (std::vector<std::string>{"0", "0.5M", "1M", "1.5M"}));
  EXPECT_EQ(tick_labels({0, 5e-4, 1e-3, 1.5e-3}),
            (std::vector<std::string>{"0", "0.5e-3", "1e-3", "1.5e-3"}));
  EXPECT_EQ(tick_labels({10, 20, 30}), (std::vector<std::string>{"10", "20", "30"}));
}

TEST(DrawnPoints, SkipNonFiniteAndThinLongSeries) {
  const PlotSeries gaps{"s", {1, 2, 3, 4}, {1.0, std::nan(""), INFINITY, 2.0}};
  EXPECT_EQ(drawn_points(gaps).x, (std::vector<double>{1, 4}));

  PlotSeries long_series{"s", {}, {}};
  for (int i = 0; i < 5000; ++i) {
    long_series.x.push_back(i);
    long_series.y.push_back(i % 2);
  }
  const PlotSeries thinned = drawn_points(long_series, 1000);
  EXPECT_EQ(thinned.x.size(), 1000u);
  EXPECT_DOUBLE_EQ(thinned.x[0], 2.0);  // the mean of 0..4
  EXPECT_DOUBLE_EQ(thinned.y[0], 0.4);
}

TEST(SvgPlot, OnePolylinePerSeriesWithAPointPerValue) {
  Plot plot{"Loss", "step", "loss", {}, false};
  plot.series.push_back({"train", {1, 2, 3, 4, 5}, {4.0, 3.5, 3.1, 2.9, 2.8}});
  plot.series.push_back({"validation", {5}, {2.95}});
  plot.series.push_back({"absent", {}, {}});
  const std::string svg = render_svg_plot(plot);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(testing::polyline_count(svg), 2);
  EXPECT_EQ(testing::points_of(svg, "train"), 5);
  EXPECT_EQ(testing::points_of(svg, "validation"), 1);
  EXPECT_EQ(testing::points_of(svg, "absent"), -1);
  // A single point is a marker, not an invisible line.
  EXPECT_NE(svg.find("<circle"), std::string::npos);
  for (const char* text : {">Loss<", ">step<", ">loss<", ">train<", ">validation<"}) {
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  }
  EXPECT_EQ(svg.find("<script"), std::string::npos);
}

TEST(SvgPlot, NamesAreEscaped) {
  Plot plot{"a <b> & \"c\"", "x", "y", {{"<s>", {1, 2}, {1, 2}}}, false};
  const std::string svg = render_svg_plot(plot);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(testing::points_of(svg, "&lt;s&gt;"), 2);
}

TEST(SvgPlot, AnEmptyPlotStillDrawsItsAxes) {
  const std::string svg = render_svg_plot(Plot{"nothing", "x", "y", {}, true});
  EXPECT_EQ(testing::polyline_count(svg), 0);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace weft::cli
