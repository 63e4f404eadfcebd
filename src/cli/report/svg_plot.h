#pragma once
// A line plot as a standalone SVG document: axes whose ticks fall on 1, 2 or
// 5 times a power of ten, labelled; one polyline per series; a marker at
// every point of a sparse series (a single evaluation is a dot, not an
// invisible line of one point); and a legend. No script and no font files,
// so it opens in any browser from the file system.
//
// Each series is drawn as
//   <polyline class="series" data-series="NAME" points="x,y x,y ..."/>
// with one "x,y" pair per point drawn: tests and scripts count them there.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::cli {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // the same length; points with a non-finite coordinate are skipped
};

struct Plot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;  // in legend order; an empty series is left out
  bool y_from_zero = false;        // the y axis starts at 0 (throughput, shares)
  bool x_from_zero = false;        // the x axis too (scores recorded once, at the end)
};

// A series longer than this is drawn as the means of consecutive groups of
// points: a long run's every step would draw thousands of segments per pixel
// column and make the page slow to open, while the means still show the trend.
inline constexpr int64_t kMaxDrawnPoints = 1000;

// The SVG document of `plot`, `width` x `height` pixels.
std::string render_svg_plot(const Plot& plot, int width = 640, int height = 360);

// Coordinates beyond it are not drawn: no figure of a run comes near
// (10^15 tokens is a thousand times today's largest runs), and the axes'
// arithmetic stays finite below it.
inline constexpr double kLargestValue = 1e15;

// The points drawn for `series`: those with both coordinates finite and
// within ±kLargestValue, thinned to at most `max_points` by averaging
// consecutive groups.
PlotSeries drawn_points(const PlotSeries& series, int64_t max_points = kMaxDrawnPoints);

// About `target` evenly spaced round values (1, 2 or 5 times a power of ten
// apart) from at or below `lo` to at or above `hi`.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// The labels of one axis's ticks (as nice_ticks gives them), as precise as
// their spacing needs and in one unit for the whole axis, chosen by its
// largest tick: "0.25"; "1.5M" (k, M, G from 10^4 up); "2.5e-3", "0.5e-3"
// (spacings below 10^-3).
std::vector<std::string> tick_labels(const std::vector<double>& ticks);

// `text` with &, <, >, " and ' escaped: safe in SVG and HTML text and attributes.
std::string escape_markup(std::string_view text);

}  // namespace weft::cli
