#include "arrival_report.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "weft/tensor/error.h"

namespace weft {
namespace {

// How deep the report follows ranks held up in other collectives.
constexpr int kMaxDepth = 8;

// How members are named: by group rank at the top ("rank(s) 1 (world 3)"),
// by world rank in groups the report follows ("world rank(s) 3").
struct Naming {
  std::string word;
  std::function<std::string(int member)> name;

  // "rank(s) 1, 3 (world 7)"
  std::string list(const std::vector<int>& members) const { return word + "(s) " + names(members); }
  // "rank 1 waits", "ranks 1, 3 wait"
  std::string subject(const std::vector<int>& members, const char* verb) const {
    const bool one = members.size() == 1;
    return detail::concat(word, one ? " " : "s ", names(members), " ", verb, one ? "s" : "");
  }
  std::string names(const std::vector<int>& members) const {
    std::string text;
    for (size_t i = 0; i < members.size(); ++i) text += (i == 0 ? "" : ", ") + name(members[i]);
    return text;
  }
};

// Members held up in one collective of another group.
struct HeldUp {
  WaitingIn in;
  std::vector<int> members;
};

// What a group's members did about one of its collectives.
struct Findings {
  std::vector<int> missing;   // did not arrive
  std::vector<int> unknown;   // windows did not answer
  std::vector<HeldUp> held;   // did not arrive: waiting, still polling, elsewhere
  std::vector<int> stopped;   // issued it, no longer poll
  std::vector<int> idle;      // issued it, not waiting in any collective
  std::vector<HeldUp> after;  // issued it, waiting in another group's collective
};

void add_held(std::vector<HeldUp>& held, WaitingIn in, int member) {
  for (HeldUp& h : held) {
    if (h.in.group_id == in.group_id && h.in.seq == in.seq) {
      h.members.push_back(member);
      return;
    }
  }
  held.push_back(HeldUp{in, {member}});
}

class Reporter {
 public:
  explicit Reporter(BoardView& board) : board_(board) {}

  std::string explain(const KnownGroup& group, int64_t seq, const Naming& naming, int depth) {
    visited_.emplace_back(group.id, group.world_ranks.front(), seq);
    const Findings f = classify(group, seq);
    std::vector<std::string> parts;
    if (!f.missing.empty()) parts.push_back(naming.list(f.missing) + " did not arrive");
    for (const HeldUp& h : f.held) parts.push_back(held_up(group, h, naming, depth));
    if (!f.unknown.empty() && parts.empty()) {
      // Every member that answered has arrived: the silent ones are what
      // holds the collective up.
      parts.push_back(naming.list(f.unknown) +
                      " did not answer, and every other rank arrived (host down or unreachable, "
                      "or stopped outside MPI)");
    } else if (!f.unknown.empty()) {
      parts.push_back("whether " + naming.list(f.unknown) +
                      " arrived is unknown (they did not answer)");
    }
    if (parts.empty()) {
      if (!f.stopped.empty()) {
        parts.push_back(naming.list(f.stopped) + " issued it, then stopped responding");
      }
      if (!f.idle.empty()) {
        parts.push_back(naming.list(f.idle) +
                        " issued it, then left without waiting for it (stopped, or busy outside"
                        " MPI)");
      }
    }
    if (parts.empty() && !f.after.empty()) {
      std::string text = "every rank issued it";
      for (const HeldUp& h : f.after) text += "; " + held_up(group, h, naming, depth);
      parts.push_back(text);
    }
    if (parts.empty()) {
      return "every rank issued it, yet it did not complete (do their tensors differ in size?)";
    }
    std::string text = parts.front();
    for (size_t i = 1; i < parts.size(); ++i) text += "; " + parts[i];
    return text;
  }

 private:
  Findings classify(const KnownGroup& group, int64_t seq) {
    Findings f;
    const std::vector<std::optional<int64_t>> counts = board_.issued(group.id, group.world_ranks);
    const bool waits = board_.posts_waits();
    std::vector<int> arrived;
    for (int m = 0; m < static_cast<int>(group.world_ranks.size()); ++m) {
      const int world = group.world_ranks[m];
      if (!counts[m]) {
        f.unknown.push_back(m);
      } else if (*counts[m] >= seq) {
        arrived.push_back(m);
      } else if (!waits) {
        f.missing.push_back(m);
      } else {
        const std::optional<WaitingIn> in = board_.waiting(world);
        // A rank that waits but no longer polls stopped there: it is the one.
        if (in && board_.responding(world)) {
          add_held(f.held, *in, m);
        } else {
          f.missing.push_back(m);
        }
      }
    }
    if (!f.missing.empty() || !f.held.empty() || !f.unknown.empty() || !waits) return f;
    // Everyone issued it: the collective is stuck on a member that does not
    // move it on (no MPI call of its own), or on sizes that do not match.
    for (int m : arrived) {
      const int world = group.world_ranks[m];
      const std::optional<WaitingIn> in = board_.waiting(world);
      if (!in) {
        f.idle.push_back(m);
      } else if (!board_.responding(world)) {
        f.stopped.push_back(m);
      } else if (in->group_id != group.id) {  // a rank's group ids are its own
        add_held(f.after, *in, m);
      }
    }
    return f;
  }

  // "rank(s) 0 (world 1) wait in collective #3 on <label>, where ..."
  std::string held_up(const KnownGroup& from, const HeldUp& h, const Naming& naming, int depth) {
    std::string text =
        naming.subject(h.members, "wait") + detail::concat(" in collective #", h.in.seq);
    const KnownGroup* there = board_.group(h.in.group_id, from.world_ranks[h.members.front()]);
    if (there == nullptr) {
      return text + detail::concat(" of a group this rank does not know (id ", h.in.group_id, ")");
    }
    text += " on " + there->label;
    const auto key = std::make_tuple(there->id, there->world_ranks.front(), h.in.seq);
    if (std::find(visited_.begin(), visited_.end(), key) != visited_.end()) {
      return text + ", which waits on the above in turn (the ranks wait on each other)";
    }
    if (depth >= kMaxDepth) return text;
    const Naming world{"world rank",
                       [there](int m) { return std::to_string(there->world_ranks[m]); }};
    return text + ", where " + explain(*there, h.in.seq, world, depth + 1);
  }

  BoardView& board_;
  std::vector<std::tuple<int, int, int64_t>> visited_;  // (group id, first world rank, seq)
};

}  // namespace

std::string holdup_report(BoardView& board, const KnownGroup& group, int64_t seq,
                          const std::function<std::string(int group_rank)>& rank_name) {
  WEFT_CHECK(!group.world_ranks.empty(), "holdup_report: ", group.label, " has no members");
  return Reporter(board).explain(group, seq, Naming{"rank", rank_name}, 0);
}

}  // namespace weft
