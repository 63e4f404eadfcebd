#include "cli/report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace weft::cli {
namespace {

// Tableau 10: distinguishable in colour and in greyscale print.
constexpr const char* kColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
// A series with this many points or fewer gets a marker on each: evaluations
// and end-of-run scores are few, and their positions matter.
constexpr size_t kMarkedPoints = 60;
// Axes span at least this much: tick arithmetic on a narrower range would
// count ticks past what a double resolves.
constexpr double kSmallestSpan = 1e-30;
constexpr const char* kFont = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\"";

std::string fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

std::string coordinate(double v) {
  return fmt("%.1f", v);
}

// Digits after the point that a spacing of `step` needs: 0.2 -> 1, 0.05 -> 2, 5 -> 0.
int decimals_for(double step) {
  return std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}

std::string trim_zeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// Where the axis of [lo, hi] maps onto the pixels [from, to].
struct Axis {
  double lo, hi, from, to;
  double operator()(double v) const { return from + (v - lo) / (hi - lo) * (to - from); }
};

}  // namespace

std::string escape_markup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  // One value, or values too close to tell apart in a double: a band around them.
  const double span = std::max(std::abs(lo), std::abs(hi));
  if (!(hi - lo > span * 1e-9) || hi - lo < kSmallestSpan) {
    const double pad = span > kSmallestSpan ? span * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const int exponent = static_cast<int>(std::floor(std::log10(raw)));
  const double magnitude = std::pow(10.0, exponent);
  const double norm = raw / magnitude;
  const double multiple = norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0;
  const double step = multiple * magnitude;
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::max(first + 1.0, std::ceil(hi / step - 1e-9));
  std::vector<double> ticks;
  for (double i = first; i <= last + 0.5; i += 1.0) {
    // Dividing by a power of ten held exactly gives 0.6 where 3 * 0.2 gives 0.6000000000000001.
    ticks.push_back(exponent < 0 ? i * multiple / std::pow(10.0, -exponent)
                                 : i * multiple * magnitude);
  }
  return ticks;
}

std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  double largest = 0.0;
  for (const double t : ticks) largest = std::max(largest, std::abs(t));
  // The unit: a power of ten shown as a suffix, and the digits the spacing needs in it.
  double scale = 1.0;
  std::string suffix;
  if (largest >= 1e4) {
    scale = largest >= 1e9 ? 1e9 : largest >= 1e6 ? 1e6 : 1e3;
    suffix.assign(1, scale == 1e9 ? 'G' : scale == 1e6 ? 'M' : 'k');
  } else if (step < 1e-3) {
    const int exponent = static_cast<int>(std::floor(std::log10(largest) + 1e-9));
    scale = std::pow(10.0, exponent);
    char e[16];
    std::snprintf(e, sizeof e, "e%d", exponent);
    suffix = e;
  }
  const int decimals = decimals_for(step / scale);
  std::vector<std::string> labels;
  for (const double t : ticks) {
    if (std::abs(t) < step * 1e-6) {
      labels.push_back("0");
      continue;
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, t / scale);
    std::string label = suffix.empty() ? std::string(buf) : trim_zeros(buf);
    label.append(suffix);
    labels.push_back(std::move(label));
  }
  return labels;
}

PlotSeries drawn_points(const PlotSeries& series, int64_t max_points) {
  PlotSeries finite{series.name, {}, {}};
  const size_t n = std::min(series.x.size(), series.y.size());
  for (size_t i = 0; i < n; ++i) {
    if (!(std::abs(series.x[i]) <= kLargestValue) || !(std::abs(series.y[i]) <= kLargestValue)) {
      continue;
    }
    finite.x.push_back(series.x[i]);
    finite.y.push_back(series.y[i]);
  }
  const int64_t count = static_cast<int64_t>(finite.x.size());
  if (count <= max_points) return finite;
  PlotSeries thinned{series.name, {}, {}};
  const int64_t group = (count + max_points - 1) / max_points;
  for (int64_t begin = 0; begin < count; begin += group) {
    const int64_t end = std::min(count, begin + group);
    double sx = 0, sy = 0;
    for (int64_t i = begin; i < end; ++i) {
      sx += finite.x[i];
      sy += finite.y[i];
    }
    thinned.x.push_back(sx / static_cast<double>(end - begin));
    thinned.y.push_back(sy / static_cast<double>(end - begin));
  }
  return thinned;
}

std::string render_svg_plot(const Plot& plot, int width, int height) {
  std::vector<PlotSeries> drawn;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  for (const PlotSeries& s : plot.series) {
    PlotSeries d = drawn_points(s);
    if (d.x.empty()) continue;
    for (size_t i = 0; i < d.x.size(); ++i) {
      x_lo = std::min(x_lo, d.x[i]);
      x_hi = std::max(x_hi, d.x[i]);
      y_lo = std::min(y_lo, d.y[i]);
      y_hi = std::max(y_hi, d.y[i]);
    }
    drawn.push_back(std::move(d));
  }
  if (drawn.empty()) x_lo = y_lo = 0.0, x_hi = y_hi = 1.0;
  if (plot.y_from_zero) y_lo = std::min(y_lo, 0.0);
  if (plot.x_from_zero) x_lo = std::min(x_lo, 0.0);
  const std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 6);
  const std::vector<double> y_ticks = nice_ticks(y_lo, y_hi, 5);
  const std::vector<std::string> x_labels = tick_labels(x_ticks), y_labels = tick_labels(y_ticks);

  // Title, then the legend on its own row, so that it never hides a curve.
  const double left = 70, right = width - 18, top = 52, bottom = height - 46;
  const Axis x{x_ticks.front(), x_ticks.back(), left, right};
  const Axis y{y_ticks.front(), y_ticks.back(), bottom, top};

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) +
         " " + std::to_string(height) + "\" " + kFont + " font-size=\"12\">\n";
  svg += "<title>" + escape_markup(plot.title) + "</title>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + coordinate(width / 2.0) +
         "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" +
         escape_markup(plot.title) + "</text>\n";

  // Grid and ticks.
  svg += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (const double t : x_ticks) {
    svg += "<line x1=\"" + coordinate(x(t)) + "\" y1=\"" + coordinate(top) + "\" x2=\"" +
           coordinate(x(t)) + "\" y2=\"" + coordinate(bottom) + "\"/>\n";
  }
  for (const double t : y_ticks) {
    svg += "<line x1=\"" + coordinate(left) + "\" y1=\"" + coordinate(y(t)) + "\" x2=\"" +
           coordinate(right) + "\" y2=\"" + coordinate(y(t)) + "\"/>\n";
  }
  svg += "</g>\n<g stroke=\"#333\" stroke-width=\"1\">\n";
  svg += "<line x1=\"" + coordinate(left) + "\" y1=\"" + coordinate(bottom) + "\" x2=\"" +
         coordinate(right) + "\" y2=\"" + coordinate(bottom) + "\"/>\n";
  svg += "<line x1=\"" + coordinate(left) + "\" y1=\"" + coordinate(top) + "\" x2=\"" +
         coordinate(left) + "\" y2=\"" + coordinate(bottom) + "\"/>\n";
  for (const double t : x_ticks) {
    svg += "<line x1=\"" + coordinate(x(t)) + "\" y1=\"" + coordinate(bottom) + "\" x2=\"" +
           coordinate(x(t)) + "\" y2=\"" + coordinate(bottom + 5) + "\"/>\n";
  }
  for (const double t : y_ticks) {
    svg += "<line x1=\"" + coordinate(left - 5) + "\" y1=\"" + coordinate(y(t)) + "\" x2=\"" +
           coordinate(left) + "\" y2=\"" + coordinate(y(t)) + "\"/>\n";
  }
  svg += "</g>\n<g fill=\"#333\">\n";
  for (size_t i = 0; i < x_ticks.size(); ++i) {
    svg += "<text x=\"" + coordinate(x(x_ticks[i])) + "\" y=\"" + coordinate(bottom + 18) +
           "\" text-anchor=\"middle\">" + escape_markup(x_labels[i]) + "</text>\n";
  }
  for (size_t i = 0; i < y_ticks.size(); ++i) {
    svg += "<text x=\"" + coordinate(left - 8) + "\" y=\"" + coordinate(y(y_ticks[i]) + 4) +
           "\" text-anchor=\"end\">" + escape_markup(y_labels[i]) + "</text>\n";
  }
  svg += "<text x=\"" + coordinate((left + right) / 2) + "\" y=\"" + coordinate(height - 8.0) +
         "\" text-anchor=\"middle\">" + escape_markup(plot.x_label) + "</text>\n";
  svg += "<text transform=\"translate(14 " + coordinate((top + bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape_markup(plot.y_label) + "</text>\n";
  svg += "</g>\n";

  // The series, clipped to the plot area.
  svg += "<clipPath id=\"area\"><rect x=\"" + coordinate(left) + "\" y=\"" + coordinate(top - 4) +
         "\" width=\"" + coordinate(right - left + 4) + "\" height=\"" +
         coordinate(bottom - top + 8) + "\"/></clipPath>\n<g clip-path=\"url(#area)\">\n";
  for (size_t k = 0; k < drawn.size(); ++k) {
    const PlotSeries& s = drawn[k];
    const char* colour = kColours[k % std::size(kColours)];
    std::string points;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (i) points += ' ';
      points += coordinate(x(s.x[i])) + "," + coordinate(y(s.y[i]));
    }
    svg += "<polyline class=\"series\" data-series=\"" + escape_markup(s.name) +
           "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"1.6\" stroke-linejoin=\"round\" points=\"" + points + "\"/>\n";
    if (s.x.size() > kMarkedPoints) continue;
    for (size_t i = 0; i < s.x.size(); ++i) {
      svg += "<circle cx=\"" + coordinate(x(s.x[i])) + "\" cy=\"" + coordinate(y(s.y[i])) +
             "\" r=\"3\" fill=\"" + colour + "\"/>\n";
    }
  }
  svg += "</g>\n";

  // The legend, right-aligned on the row under the title.
  double legend_x = right;
  std::string legend;
  for (size_t k = drawn.size(); k-- > 0;) {
    const double text_width = 7.0 * static_cast<double>(drawn[k].name.size());
    legend_x -= text_width;
    legend = "<line x1=\"" + coordinate(legend_x - 24) + "\" y1=\"38\" x2=\"" +
             coordinate(legend_x - 6) + "\" y2=\"38\" stroke=\"" +
             kColours[k % std::size(kColours)] + "\" stroke-width=\"3\"/>\n<text x=\"" +
             coordinate(legend_x) + "\" y=\"42\">" + escape_markup(drawn[k].name) + "</text>\n" +
             legend;
    legend_x -= 40;
  }
  svg += "<g class=\"legend\" fill=\"#333\">\n" + legend + "</g>\n</svg>\n";
  return svg;
}

}  // namespace weft::cli
