#include "collective_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <utility>

#include "support/error_testing.h"
#include "support/tensor_testing.h"
#include "weft/tensor/bf16.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

std::vector<CollectiveCase> reduction_rows() {
  std::vector<CollectiveCase> rows;
  for (DType dtype : {DType::F32, DType::F64, DType::I32, DType::BF16}) {
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Average, ReduceOp::Max}) {
      // Refused: an i32 average would truncate; bf16 is summed, never averaged.
      if ((dtype == DType::I32 || dtype == DType::BF16) && op == ReduceOp::Average) continue;
      for (int64_t count : {1, 7, 1001}) rows.push_back({dtype, op, count});
    }
  }
  return rows;
}

std::vector<CollectiveCase> movement_rows() {
  std::vector<CollectiveCase> rows;
  for (DType dtype : {DType::F32, DType::F64, DType::I32, DType::BF16}) {
    for (int64_t count : {1, 7, 1001}) rows.push_back({dtype, ReduceOp::Sum, count});
  }
  return rows;
}

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Element i of rank r's input, in the units of its dtype.
double input_value(DType dtype, uint64_t seed, int rank, int64_t i) {
  const uint64_t h = mix(seed * 0x9e3779b97f4a7c15ull ^ mix(static_cast<uint64_t>(rank) + 1) ^
                         mix(static_cast<uint64_t>(i) + 0x51ed));
  const double quarter_steps = static_cast<double>(static_cast<int64_t>(h % 61) - 30);
  return dtype == DType::I32 ? quarter_steps : quarter_steps / 4.0;
}

// Elements [offset, offset + count) of every rank's input, reduced in rank order in double.
Tensor expected_reduction(const CollectiveCase& c, int group_size, int64_t offset, uint64_t seed) {
  Tensor expected = Tensor::empty({c.count}, DType::F64);
  double* e = expected.data<double>();
  for (int64_t i = 0; i < c.count; ++i) {
    double acc = input_value(c.dtype, seed, 0, offset + i);
    for (int q = 1; q < group_size; ++q) {
      const double x = input_value(c.dtype, seed, q, offset + i);
      acc = c.op == ReduceOp::Max ? std::max(acc, x) : acc + x;
    }
    e[i] = c.op == ReduceOp::Average ? acc / group_size : acc;
  }
  return expected;
}

uint64_t row_seed(const char* collective, size_t row) {
  return mix(std::hash<std::string>{}(collective) + row);
}

std::string where(const Communicator& comm) {
  return detail::concat("rank ", comm.rank(), " of ", comm.describe());
}

// `actual` on `device` (read back from there) and close to `expected`.
::testing::AssertionResult matches(const Tensor& actual, const Tensor& expected, DType dtype,
                                   Device device = Device::CPU) {
  if (actual.device() != device) {
    return ::testing::AssertionFailure()
           << actual.describe() << " is not on " << device_name(device);
  }
  const Tolerance tol = tolerance_for(dtype);
  return all_close(actual, expected, tol.rel, tol.abs);
}

// A rank input made on the host, on `device`.
Tensor on(Device device, const Tensor& host) {
  return device == Device::CPU ? host : host.to(device);
}

// Issues row k's collective with `issue`, blocking or all at once then
// waited in reverse order, then checks every row with `check`.
void run_rows(size_t rows, Mode mode, const std::function<void(size_t)>& issue_blocking,
              const std::function<Pending(size_t)>& issue_async,
              const std::function<void(size_t)>& check) {
  if (mode == Mode::Blocking) {
    for (size_t k = 0; k < rows; ++k) issue_blocking(k);
  } else if (mode == Mode::Async) {
    std::vector<Pending> pending;
    for (size_t k = 0; k < rows; ++k) pending.push_back(issue_async(k));
    for (size_t k = rows; k-- > 0;) pending[k]->wait();
  } else {
    Pending last;
    for (size_t k = 0; k < rows; ++k) {
      last = issue_async(k);
      last->wait_on_device();
    }
    if (last) last->wait();
  }
  for (size_t k = 0; k < rows; ++k) check(k);
}

}  // namespace

std::string case_name(const char* collective, const CollectiveCase& c) {
  return detail::concat(collective, " ", reduce_op_name(c.op), " ", dtype_name(c.dtype), " x",
                        c.count);
}

const std::vector<CollectiveCase>& all_reduce_table() {
  static const std::vector<CollectiveCase> rows = reduction_rows();
  return rows;
}
const std::vector<CollectiveCase>& reduce_scatter_table() {
  return all_reduce_table();
}
const std::vector<CollectiveCase>& all_gather_table() {
  static const std::vector<CollectiveCase> rows = movement_rows();
  return rows;
}
const std::vector<CollectiveCase>& broadcast_table() {
  return all_gather_table();
}

Tensor rank_input(DType dtype, int64_t count, int rank, uint64_t seed) {
  Tensor t = Tensor::empty({count}, dtype);
  for (int64_t i = 0; i < count; ++i) {
    const double v = input_value(dtype, seed, rank, i);
    switch (dtype) {
      case DType::F32:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case DType::F64:
        t.data<double>()[i] = v;
        break;
      case DType::I32:
        t.data<int32_t>()[i] = static_cast<int32_t>(v);
        break;
      case DType::BF16:
        static_cast<uint16_t*>(t.raw())[i] = float_to_bf16(static_cast<float>(v));
        break;
    }
  }
  return t;
}

void check_all_reduce(Communicator& comm, Mode mode, Device device) {
  const auto& table = all_reduce_table();
  std::vector<Tensor> t;
  for (size_t k = 0; k < table.size(); ++k) {
    t.push_back(
        on(device, rank_input(table[k].dtype, table[k].count, comm.rank(), row_seed("ar", k))));
  }
  run_rows(
      table.size(), mode, [&](size_t k) { comm.all_reduce(t[k], table[k].op); },
      [&](size_t k) { return comm.all_reduce_async(t[k], table[k].op); },
      [&](size_t k) {
        EXPECT_TRUE(matches(t[k], expected_reduction(table[k], comm.size(), 0, row_seed("ar", k)),
                            table[k].dtype, device))
            << where(comm) << ": " << case_name("all_reduce", table[k]);
      });
}

void check_reduce_scatter(Communicator& comm, Mode mode, Device device, Placement placement) {
  const auto& table = reduce_scatter_table();
  const int n = comm.size(), r = comm.rank();
  std::vector<Tensor> in, out;
  for (size_t k = 0; k < table.size(); ++k) {
    const int64_t count = table[k].count;
    in.push_back(on(device, rank_input(table[k].dtype, count * n, r, row_seed("rs", k))));
    out.push_back(placement == Placement::InPlace
                      ? in.back().rows(r * count, (r + 1) * count)
                      : Tensor::empty({count}, table[k].dtype, device));
  }
  run_rows(
      table.size(), mode, [&](size_t k) { comm.reduce_scatter(in[k], out[k], table[k].op); },
      [&](size_t k) { return comm.reduce_scatter_async(in[k], out[k], table[k].op); },
      [&](size_t k) {
        const Tensor expected =
            expected_reduction(table[k], n, r * table[k].count, row_seed("rs", k));
        EXPECT_TRUE(matches(out[k], expected, table[k].dtype, device))
            << where(comm) << ": " << case_name("reduce_scatter", table[k]);
      });
}

void check_all_gather(Communicator& comm, Mode mode, Device device, Placement placement) {
  const auto& table = all_gather_table();
  const int n = comm.size(), r = comm.rank();
  std::vector<Tensor> in, out;
  for (size_t k = 0; k < table.size(); ++k) {
    const int64_t count = table[k].count;
    const Tensor mine = on(device, rank_input(table[k].dtype, count, r, row_seed("ag", k)));
    out.push_back(Tensor::empty({count * n}, table[k].dtype, device));
    if (placement == Placement::InPlace) {
      in.push_back(out.back().rows(r * count, (r + 1) * count));
      in.back().copy_from(mine);
    } else {
      in.push_back(mine);
    }
  }
  run_rows(
      table.size(), mode, [&](size_t k) { comm.all_gather(in[k], out[k]); },
      [&](size_t k) { return comm.all_gather_async(in[k], out[k]); },
      [&](size_t k) {
        const int64_t count = table[k].count;
        for (int q = 0; q < n; ++q) {
          EXPECT_TRUE(matches(out[k].rows(q * count, (q + 1) * count),
                              rank_input(table[k].dtype, count, q, row_seed("ag", k)),
                              table[k].dtype, device))
              << where(comm) << ": " << case_name("all_gather", table[k]) << ", chunk " << q;
        }
      });
}

void check_broadcast(Communicator& comm, Device device) {
  const auto& table = broadcast_table();
  const int n = comm.size();
  std::vector<int> roots = {0, n / 2, n - 1};
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  for (int root : roots) {
    for (size_t k = 0; k < table.size(); ++k) {
      const CollectiveCase& c = table[k];
      Tensor t = on(device, rank_input(c.dtype, c.count, comm.rank(), row_seed("bc", k)));
      comm.broadcast(t, root);
      EXPECT_TRUE(
          matches(t, rank_input(c.dtype, c.count, root, row_seed("bc", k)), c.dtype, device))
          << where(comm) << ": " << case_name("broadcast", c) << " from root " << root;
    }
  }
}

void check_barrier(Communicator& comm) {
  for (int i = 0; i < 3; ++i) comm.barrier();
}

void check_same_bits(Communicator& comm) {
  const auto& table = all_reduce_table();
  const int n = comm.size();
  for (size_t k = 0; k < table.size(); ++k) {
    const CollectiveCase& c = table[k];
    Tensor t = rank_input(c.dtype, c.count, comm.rank(), row_seed("sb", k));
    comm.all_reduce(t, c.op);
    Tensor everyone = Tensor::empty({c.count * n}, c.dtype);
    comm.all_gather(t, everyone);
    for (int q = 0; q < n; ++q) {
      EXPECT_EQ(
          std::memcmp(everyone.rows(q * c.count, (q + 1) * c.count).raw(), t.raw(), t.nbytes()), 0)
          << where(comm) << ": " << case_name("all_reduce", c) << ": rank " << q
          << " ended with other bits";
    }
  }
}

void check_mixed_in_flight(Communicator& comm) {
  const int n = comm.size(), r = comm.rank();
  const CollectiveCase a_case{DType::F32, ReduceOp::Sum, 1001},
      b_case{DType::F64, ReduceOp::Average, 7}, d_case{DType::I32, ReduceOp::Max, 7},
      e_case{DType::F32, ReduceOp::Sum, 7}, f_case{DType::F64, ReduceOp::Average, 1};
  Tensor a = rank_input(DType::F32, 1001, r, 1);
  Pending a_done = comm.all_reduce_async(a, ReduceOp::Sum);
  Tensor b_in = rank_input(DType::F64, 7 * n, r, 2), b = Tensor::empty({7}, DType::F64);
  Pending b_done = comm.reduce_scatter_async(b_in, b, ReduceOp::Average);
  Tensor c_in = rank_input(DType::I32, 13, r, 3), c = Tensor::empty({13 * n}, DType::I32);
  Pending c_done = comm.all_gather_async(c_in, c);
  Tensor d = rank_input(DType::I32, 7, r, 4);
  Pending d_done = comm.all_reduce_async(d, ReduceOp::Max);
  Tensor e = rank_input(DType::F32, 7, r, 5);
  comm.all_reduce(e, ReduceOp::Sum);  // blocking, behind the four in flight
  Tensor f = rank_input(DType::F64, 1, r, 6);
  Pending f_done = comm.all_reduce_async(f, ReduceOp::Average);
  for (Pending* p : {&f_done, &d_done, &c_done, &b_done, &a_done, &a_done}) (*p)->wait();

  EXPECT_TRUE(matches(a, expected_reduction(a_case, n, 0, 1), DType::F32)) << where(comm);
  EXPECT_TRUE(matches(b, expected_reduction(b_case, n, r * 7, 2), DType::F64)) << where(comm);
  for (int q = 0; q < n; ++q) {
    EXPECT_TRUE(matches(c.rows(q * 13, (q + 1) * 13), rank_input(DType::I32, 13, q, 3), DType::I32))
        << where(comm) << ": chunk " << q;
  }
  EXPECT_TRUE(matches(d, expected_reduction(d_case, n, 0, 4), DType::I32)) << where(comm);
  EXPECT_TRUE(matches(e, expected_reduction(e_case, n, 0, 5), DType::F32)) << where(comm);
  EXPECT_TRUE(matches(f, expected_reduction(f_case, n, 0, 6), DType::F64)) << where(comm);
}

void check_refusals(Communicator& comm) {
  const int n = comm.size(), r = comm.rank();
  auto expect_says = [&](const std::string& message, const char* expected) {
    EXPECT_NE(message.find(expected), std::string::npos)
        << where(comm) << ": \"" << message << "\" does not say \"" << expected << "\"";
  };
  Tensor ids = rank_input(DType::I32, 7, r, 1);
  expect_says(error_of([&] { comm.all_reduce(ids, ReduceOp::Average); }), "average of an i32");
  expect_says(error_of([&] { comm.all_reduce_async(ids, ReduceOp::Average); }),
              "average of an i32");
  Tensor half = Tensor::zeros({3}, DType::BF16);
  expect_says(error_of([&] { comm.all_reduce(half, ReduceOp::Average); }),
              "average of a bf16 tensor");
  Tensor undefined;
  expect_says(error_of([&] { comm.all_reduce(undefined); }), "undefined");

  Tensor odd = rank_input(DType::F32, 7 * n + 1, r, 2), out = Tensor::empty({7});
  expect_says(error_of([&] { comm.reduce_scatter(odd, out); }), "must hold");
  expect_says(error_of([&] { comm.reduce_scatter_async(odd, out); }), "must hold");
  Tensor wide = rank_input(DType::F64, 7 * n, r, 3);
  expect_says(error_of([&] { comm.reduce_scatter(wide, out); }), "must match");
  Tensor gathered = Tensor::empty({7 * n + 1});
  expect_says(error_of([&] { comm.all_gather(out, gathered); }), "must hold");
  expect_says(error_of([&] { comm.all_gather_async(out, gathered); }), "must hold");
  if (n > 1) {
    Tensor whole = rank_input(DType::F32, 7 * n, r, 4);
    // In place is only this rank's own chunk.
    const int other = (r + 1) % n;
    Tensor wrong_chunk = whole.rows(other * 7, other * 7 + 7);
    expect_says(error_of([&] { comm.reduce_scatter(whole, wrong_chunk); }), "is not its chunk");
    expect_says(error_of([&] { comm.all_gather(wrong_chunk, whole); }), "is not its chunk");
    Tensor straddling = whole.rows(r * 7 + 1, r * 7 + 8 <= 7 * n ? r * 7 + 8 : r * 7 + 1);
    if (straddling.numel() == 7) {
      expect_says(error_of([&] { comm.reduce_scatter(whole, straddling); }), "is not its chunk");
    }
  }
  expect_says(error_of([&] { comm.broadcast(ids, -1); }), "is not a rank");
  expect_says(error_of([&] { comm.broadcast(ids, n); }), "is not a rank");

  // Nothing was sent: the group still agrees on its next collective.
  const CollectiveCase after{DType::F32, ReduceOp::Sum, 7};
  Tensor t = rank_input(DType::F32, 7, r, 5);
  comm.all_reduce(t);
  EXPECT_TRUE(matches(t, expected_reduction(after, n, 0, 5), DType::F32)) << where(comm);
}

void check_split(Communicator& comm) {
  struct Layout {
    const char* name;
    std::function<int(int)> color, key;
  };
  const int n = comm.size(), r = comm.rank();
  const std::vector<Layout> layouts = {
      {"odd/even", [](int q) { return q % 2; }, [](int q) { return q; }},
      {"neighbours", [](int q) { return q / 2; }, [](int q) { return q; }},
      {"reversed", [](int) { return 0; }, [](int q) { return -q; }},
      {"singletons", [](int q) { return q; }, [](int) { return 0; }},
  };
  for (const Layout& layout : layouts) {
    std::shared_ptr<Communicator> group = comm.split(layout.color(r), layout.key(r));
    std::vector<std::pair<int, int>> members;  // (key, rank) of this rank's color
    for (int q = 0; q < n; ++q) {
      if (layout.color(q) == layout.color(r)) members.push_back({layout.key(q), q});
    }
    std::sort(members.begin(), members.end());
    const auto mine = std::find(members.begin(), members.end(), std::make_pair(layout.key(r), r));
    EXPECT_EQ(group->size(), static_cast<int>(members.size()))
        << where(comm) << ", " << layout.name;
    EXPECT_EQ(group->rank(), static_cast<int>(mine - members.begin()))
        << where(comm) << ", " << layout.name;
    check_all_reduce(*group, Mode::Async);
    check_reduce_scatter(*group, Mode::Blocking);
    check_all_gather(*group, Mode::Async);
    check_broadcast(*group);
  }
  // A split of a split: neighbours, then reversed within each pair.
  std::shared_ptr<Communicator> pair = comm.split(r / 2, r);
  std::shared_ptr<Communicator> flipped = pair->split(0, -pair->rank());
  EXPECT_EQ(flipped->size(), pair->size()) << where(*pair);
  EXPECT_EQ(flipped->rank(), pair->size() - 1 - pair->rank()) << where(*pair);
  check_all_reduce(*flipped, Mode::Blocking);
}

}  // namespace weft::testing
