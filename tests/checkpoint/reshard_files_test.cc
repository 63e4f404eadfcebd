// Sharded checkpoints on disk: one file pair per tensor-parallel rank, each
// rank's slices copied exactly under any loading layout, a missing or corrupt
// shard refused by name, tp 1 checkpoints written before sharding still
// loaded, a merged export independent of the layout, and a failure on any
// rank stopping every rank without a complete-looking directory.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "checkpoint_testing.h"
#include "layout_runs.h"
#include "weft/data/tokenizer.h"
#include "weft/tensor/safetensors.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A tensor of a model or its optimizer, with the parameter whose layout it has.
struct Held {
  std::string name;
  const Parameter* parameter;
  const Tensor* tensor;
};
std::vector<Held> held_tensors(Model& model, AdamW& optimizer) {
  std::vector<Held> out;
  for (Parameter* p : model.parameters()) out.push_back({p->name, p, &p->value});
  const std::vector<NamedTensor> states = optimizer.state_tensors();  // two per parameter
  for (size_t i = 0; i < states.size(); ++i) {
    out.push_back({states[i].name, optimizer.parameters()[i / 2], states[i].tensor});
  }
  return out;
}

// Every parameter value and AdamW moment of a single-rank model, by name.
using FullValues = std::map<std::string, std::vector<double>>;
FullValues full_values(Model& model, AdamW& optimizer) {
  FullValues out;
  for (const Held& h : held_tensors(model, optimizer)) out[h.name] = h.tensor->to_double_vector();
  return out;
}

// The rank holds exactly its slice of every full value: element (outer, mid,
// inner) of a shard is element (outer, shard_offset + mid, inner) of the
// full tensor, along the parameter's shard dimension.
void expect_holds_slices(RankModel& r, const FullValues& full) {
  for (const Held& h : held_tensors(*r.model, *r.optimizer)) {
    const Parameter& p = *h.parameter;
    const std::vector<double> local = h.tensor->to_double_vector();
    const std::vector<double>& whole = full.at(h.name);
    const int dim = p.shard_dim < 0 ? 0 : p.shard_dim;
    int64_t inner = 1;
    for (size_t d = dim + 1; d < p.full_shape.size(); ++d) inner *= p.full_shape[d];
    const int64_t local_dim = h.tensor->shape()[dim];
    // The single rank's tables have the real vocabulary's rows; this
    // layout's vocabulary padding rows after them must be zero.
    const int64_t whole_dim = p.full_shape[dim] - (dim == 0 ? p.padded_rows : 0);
    const int64_t offset = p.shard_dim < 0 ? 0 : p.shard_offset;
    size_t mismatches = 0;
    for (size_t j = 0; j < local.size(); ++j) {
      const int64_t i = static_cast<int64_t>(j);
      const int64_t outer = i / (inner * local_dim), row = offset + (i / inner) % local_dim;
      if (row >= whole_dim) {
        mismatches += local[j] != 0.0;
        continue;
      }
      mismatches += local[j] != whole[(outer * whole_dim + row) * inner + i % inner];
    }
    EXPECT_EQ(mismatches, 0u) << h.name << ": " << h.tensor->describe() << " at offset " << offset;
  }
}

// A single-rank model whose values and moments all differ, saved at step 2.
struct Saved {
  ScratchDir run;
  FullValues values;
  std::string dir;
};
void save_single_rank(const ModelConfig& config, Saved& out, const std::string& tokenizer = "") {
  TrainedModel t = trained_model(config, 5);
  out.values = full_values(*t.model, *t.optimizer);
  CheckpointState state;
  state.step = 2;
  state.tokenizer_dir = tokenizer;
  out.dir = save_checkpoint(out.run.path(), *t.model, *t.optimizer, state);
}
void save_single_rank(const std::string& family, Saved& out) {
  save_single_rank(tiny_config(family), out);
}

// Restores `dir` on every rank of `layout`, checks each rank's slices
// against `values`, and (with save_to) saves again under that layout.
void restore_on(const Layout& layout, const ModelConfig& config, const std::string& dir,
                const FullValues& values, const std::string& save_to = "") {
  on_ranks(layout, [&](const ProcessGroups& groups) {
    RankModel r(config, groups, 99);
    const Checkpoint c = load_checkpoint(dir);
    restore_model(*r.model, c);
    restore_optimizer(*r.optimizer, c);
    EXPECT_EQ(r.optimizer->step_count(), c.optimizer_step_count);
    expect_holds_slices(r, values);
    if (save_to.empty()) return;
    CheckpointState state;
    state.step = c.step;
    state.tokenizer_dir = c.tokenizer_dir;
    save_checkpoint(save_to, *r.model, *r.optimizer, state, 0, groups);
  });
}
void restore_on(const Layout& layout, const std::string& family, const std::string& dir,
                const FullValues& values, const std::string& save_to = "") {
  restore_on(layout, tiny_config(family), dir, values, save_to);
}

TEST(ShardedCheckpoint, OneFilePairPerTensorParallelRankOfReplicaZero) {
  Saved s;
  save_single_rank("gpt", s);
  ScratchDir run;
  restore_on({2, 2}, "gpt", s.dir, s.values, run.path());
  const std::string dir = run / "checkpoints/step-00000002";
  EXPECT_EQ(names_in(run / "checkpoints"), std::vector<std::string>{"step-00000002"});
  EXPECT_EQ(names_in(dir),
            (std::vector<std::string>{
                "manifest.json", "model-tp00-of-02.safetensors", "model-tp01-of-02.safetensors",
                "optimizer-tp00-of-02.safetensors", "optimizer-tp01-of-02.safetensors"}));
  const Checkpoint c = load_checkpoint(dir);
  EXPECT_EQ(c.manifest["layout"], json({{"tp", 2}, {"dp", 2}}));
  EXPECT_EQ(c.manifest["shards"][1], json({{"model", "model-tp01-of-02.safetensors"},
                                           {"optimizer", "optimizer-tp01-of-02.safetensors"}}));
  // A column-parallel weight is split; a layer norm is whole in every shard.
  const std::string q = "decoder.layers.0.self_attn.q.weight";
  const std::string norm = "decoder.final_norm.weight";
  EXPECT_EQ(c.parameters.at(q).shard_dim, 0);
  EXPECT_EQ(c.parameters.at(norm).shard_dim, -1);
  for (int t = 0; t < 2; ++t) {
    const SafetensorsFile f = load_safetensors(c.shards[t].model_path);
    EXPECT_EQ(f.meta("weft.tp_rank"), std::to_string(t));
    EXPECT_EQ(f.at(q).shape(), (Shape{16, 32}));
    EXPECT_EQ(f.at(norm).shape(), (Shape{32}));
    EXPECT_EQ(load_safetensors(c.shards[t].optimizer_path).at(q + ".exp_avg").shape(),
              (Shape{16, 32}));
  }
}

TEST(ShardedCheckpoint, SlicesAreExactAcrossEveryReshard) {
  for (const char* family : {"gpt", "encoder-decoder", "llama", "bert"}) {
    SCOPED_TRACE(family);
    Saved s;
    save_single_rank(family, s);
    ScratchDir tp2, tp4;
    restore_on({1, 2}, family, s.dir, s.values, tp2.path());  // 1 -> 2
    const std::string dir2 = tp2 / "checkpoints/step-00000002";
    restore_on({2, 4}, family, dir2, s.values, tp4.path());  // 2 -> 2x4
    const std::string dir4 = tp4 / "checkpoints/step-00000002";
    restore_on({1, 2}, family, dir4, s.values);  // 4 -> 2
    restore_on({1, 1}, family, dir4, s.values);  // 4 -> 1
  }
}

TEST(ShardedCheckpoint, AMissingOrCorruptShardIsRefusedByName) {
  Saved s;
  save_single_rank("gpt", s);
  ScratchDir run;
  restore_on({1, 2}, "gpt", s.dir, s.values, run.path());
  const std::string dir = run / "checkpoints/step-00000002";
  const std::string corrupt = dir + "/optimizer-tp01-of-02.safetensors";
  std::string bytes = read_text(corrupt);
  bytes[bytes.size() / 2] ^= 0x10;
  write_text(corrupt, bytes);
  const std::string refusal = error_of([&] { load_checkpoint(dir); });
  EXPECT_EQ(refusal.rfind(corrupt + ": checksum mismatch (CRC-32C ", 0), 0u) << refusal;

  const std::string missing = dir + "/model-tp01-of-02.safetensors";
  fs::remove(missing);
  EXPECT_EQ(error_of([&] { load_checkpoint(dir); }),
            missing + ": missing (listed in manifest.json)");
  std::vector<std::string> refused;
  EXPECT_THROW(latest_checkpoint(run.path(), &refused), Error);
  EXPECT_EQ(refused, std::vector<std::string>{missing + ": missing (listed in manifest.json)"});
}

TEST(ShardedCheckpoint, TensorsThatDoNotFitAreRefusedByShardFile) {
  Saved s;
  save_single_rank("gpt", s);  // untied: it has lm_head.weight
  ScratchDir run;
  restore_on({1, 2}, "gpt", s.dir, s.values, run.path());
  const Checkpoint c = load_checkpoint(run / "checkpoints/step-00000002");
  ModelConfig tied = tiny_config("gpt");
  tied.tie_embeddings = true;
  RankModel r(tied, single_rank_groups(), 1);
  EXPECT_EQ(error_of([&] { restore_model(*r.model, c); }),
            "model-tp00-of-02.safetensors: holds lm_head.weight, which the model does not have (" +
                c.shards[0].model_path + ")");

  ModelConfig wider = tiny_config("gpt");
  wider.vocab_size = 40;
  on_ranks({1, 2}, [&](const ProcessGroups& groups) {
    RankModel w(wider, groups, 1);
    EXPECT_EQ(error_of([&] { restore_optimizer(*w.optimizer, c); }),
              "optimizer-tp00-of-02.safetensors: decoder.embed_tokens.weight.exp_avg has shape "
              "[34, 32], the optimizer expects [40, 32] (" +
                  c.shards[0].optimizer_path + ")");
    EXPECT_EQ(w.optimizer->step_count(), 0);  // refused before anything was copied
  });
}

TEST(ShardedCheckpoint, ATp1CheckpointWrittenBeforeShardingLoadsUnderAnyLayout) {
  Saved s;
  save_single_rank("encoder-decoder", s);
  // The manifest as builds before sharding wrote it: no "shards", and each
  // parameter's offset recorded.
  const std::string manifest_path = s.dir + "/manifest.json";
  json old = json::parse(read_text(manifest_path));
  old.erase("shards");
  for (auto& [name, entry] : old["parameters"].items()) entry["shard_offset"] = 0;
  write_text(manifest_path, old.dump(2));
  const Checkpoint c = load_checkpoint(s.dir);
  EXPECT_EQ(c.tp, 1);
  EXPECT_EQ(c.shards[0].model_path, s.dir + "/model.safetensors");
  restore_on({1, 4}, "encoder-decoder", s.dir, s.values);
  restore_on({2, 1}, "encoder-decoder", s.dir, s.values);
}

TEST(ShardedCheckpoint, AFailureOnAnyRankStopsEveryRankAndLeavesNoCheckpoint) {
  ScratchDir run;
  const std::string final_dir = run / "checkpoints/step-00000001";
  std::mutex mutex;
  std::map<int, std::vector<std::string>> errors;  // by world rank: the bad saves' errors
  std::vector<std::string> saved;
  on_ranks({2, 2}, [&](const ProcessGroups& groups) {
    RankModel r(tiny_config("gpt"), groups, 1);
    const int rank = groups.world->rank();
    CheckpointState bad_json, no_tokenizer, good;
    bad_json.step = no_tokenizer.step = good.step = 1;
    if (rank == 2) bad_json.run_config["name"] = "\xff\xfe";  // not UTF-8, on rank 2 only
    no_tokenizer.tokenizer_dir = run / "absent";              // only the root reads it
    std::vector<std::string> mine;
    for (const CheckpointState* state : {&bad_json, &no_tokenizer}) {
      mine.push_back(error_of(
          [&] { save_checkpoint(run.path(), *r.model, *r.optimizer, *state, 0, groups); }));
    }
    // The ranks stayed in step: the next save works.
    const std::string path = save_checkpoint(run.path(), *r.model, *r.optimizer, good, 0, groups);
    std::lock_guard<std::mutex> lock(mutex);
    errors[rank] = mine;
    saved.push_back(path);
  });
  for (int rank = 0; rank < 4; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank));
    const std::vector<std::string>& e = errors[rank];
    ASSERT_EQ(e.size(), 2u);
    if (rank == 2) {
      EXPECT_EQ(e[0].rfind("save_checkpoint: run_config cannot be written as JSON", 0), 0u) << e[0];
    } else {
      EXPECT_EQ(e[0].rfind("save_checkpoint: rank 2 of ", 0), 0u) << e[0];
      EXPECT_NE(e[0].find(" failed checking what to save in " + final_dir + " (see its error)"),
                std::string::npos)
          << e[0];
    }
    if (rank == 0) {
      EXPECT_EQ(e[1],
                "save_checkpoint: tokenizer directory '" + run / "absent" + "' does not exist");
    } else {
      EXPECT_EQ(e[1].rfind("save_checkpoint: rank 0 of ", 0), 0u) << e[1];
    }
  }
  EXPECT_EQ(saved, std::vector<std::string>(4, final_dir));
  EXPECT_EQ(names_in(run / "checkpoints"), std::vector<std::string>{"step-00000001"});
}

// `weft export` loads a checkpoint into a single-rank model through
// restore_model: the merged file is the same whatever layout saved it.
TEST(ShardedCheckpoint, MergedExportIsTheSameWhateverLayoutWroteIt) {
  ScratchDir tok;
  make_char_tokenizer("abcdefghijklmnopqrstuvwxyz0123456")->save(tok / "t");  // 33 ids
  ModelConfig gpt2 = tiny_config("gpt");
  gpt2.tie_embeddings = true;
  Saved s;
  save_single_rank(gpt2, s, tok / "t");
  ScratchDir tp2, tp4;
  restore_on({1, 2}, gpt2, s.dir, s.values, tp2.path());
  const std::string dir2 = tp2 / "checkpoints/step-00000002";
  restore_on({2, 4}, gpt2, dir2, s.values, tp4.path());
  const std::string dir4 = tp4 / "checkpoints/step-00000002";
  ASSERT_TRUE(fs::exists(dir4 + "/model-tp03-of-04.safetensors"));

  ScratchDir out;
  for (const auto& [name, dir] :
       {std::pair{"tp1", s.dir}, std::pair{"tp2", dir2}, std::pair{"tp4", dir4}}) {
    const std::string command = std::string(WEFT_BINARY) + " export --checkpoint '" + dir +
                                "' --out '" + out / name + "' > /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  for (const char* file : {"/model.safetensors", "/config.json"}) {
    const std::string merged = read_text(out / "tp1" + file);
    EXPECT_FALSE(merged.empty());
    EXPECT_TRUE(read_text(out / "tp2" + file) == merged) << file << " after tp 2";
    EXPECT_TRUE(read_text(out / "tp4" + file) == merged) << file << " after 2x4";
  }
}

}  // namespace
}  // namespace weft::testing
