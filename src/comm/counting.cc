#include "weft/comm/counting.h"

#include <ostream>
#include <sstream>
#include <utility>

#include "weft/tensor/error.h"

namespace weft {

int64_t CommTally::calls() const {
  return all_reduce.calls + reduce_scatter.calls + all_gather.calls + broadcast.calls + barriers;
}

int64_t CommTally::bytes() const {
  return all_reduce.bytes + reduce_scatter.bytes + all_gather.bytes + broadcast.bytes;
}

CommTally& CommTally::operator+=(const CommTally& o) {
  for (auto [mine, theirs] :
       {std::pair{&all_reduce, &o.all_reduce}, std::pair{&reduce_scatter, &o.reduce_scatter},
        std::pair{&all_gather, &o.all_gather}, std::pair{&broadcast, &o.broadcast}}) {
    mine->calls += theirs->calls;
    mine->bytes += theirs->bytes;
  }
  barriers += o.barriers;
  return *this;
}

std::string describe(const CommTally& t) {
  std::ostringstream out;
  const char* separator = "";
  for (auto [name, entry] :
       {std::pair{"all_reduce", &t.all_reduce}, std::pair{"reduce_scatter", &t.reduce_scatter},
        std::pair{"all_gather", &t.all_gather}, std::pair{"broadcast", &t.broadcast}}) {
    if (entry->calls == 0) continue;
    out << separator << name << " " << *entry;
    separator = ", ";
  }
  if (t.barriers > 0) out << separator << "barrier " << t.barriers;
  const std::string text = out.str();
  return text.empty() ? "none" : text;
}

std::ostream& operator<<(std::ostream& out, const CommTally& tally) {
  return out << describe(tally);
}

std::ostream& operator<<(std::ostream& out, const CollectiveTally& entry) {
  return out << entry.calls << (entry.calls == 1 ? " call " : " calls ") << entry.bytes << " B";
}

CountingCommunicator::CountingCommunicator(std::shared_ptr<Communicator> inner)
    : inner_(std::move(inner)) {
  WEFT_CHECK(inner_ != nullptr, "CountingCommunicator: no communicator to wrap");
}

void CountingCommunicator::count(CollectiveTally& entry, const Tensor& payload) {
  if (inner_->size() == 1) return;
  entry.calls += 1;
  entry.bytes += payload.defined() ? static_cast<int64_t>(payload.nbytes()) : 0;
}

void CountingCommunicator::all_reduce(Tensor& t, ReduceOp op) {
  count(tally_.all_reduce, t);
  inner_->all_reduce(t, op);
}

Pending CountingCommunicator::all_reduce_async(Tensor& t, ReduceOp op) {
  count(tally_.all_reduce, t);
  return inner_->all_reduce_async(t, op);
}

void CountingCommunicator::reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) {
  count(tally_.reduce_scatter, in);
  inner_->reduce_scatter(in, out, op);
}

Pending CountingCommunicator::reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) {
  count(tally_.reduce_scatter, in);
  return inner_->reduce_scatter_async(in, out, op);
}

void CountingCommunicator::all_gather(const Tensor& in, Tensor& out) {
  count(tally_.all_gather, in);
  inner_->all_gather(in, out);
}

Pending CountingCommunicator::all_gather_async(const Tensor& in, Tensor& out) {
  count(tally_.all_gather, in);
  return inner_->all_gather_async(in, out);
}

void CountingCommunicator::broadcast(Tensor& t, int root) {
  count(tally_.broadcast, t);
  inner_->broadcast(t, root);
}

void CountingCommunicator::barrier() {
  if (inner_->size() > 1) tally_.barriers += 1;
  inner_->barrier();
}

std::shared_ptr<Communicator> CountingCommunicator::split(int color, int key) {
  return std::make_shared<CountingCommunicator>(inner_->split(color, key));
}

}  // namespace weft
