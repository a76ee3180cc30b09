// libFuzzer target: a program of merges into one tracker region. Deltas come
// either as raw codec bytes or built from the input, encoded and decoded
// again (as a cluster message carries them), then merged whole or in slices
// (as a worker killed between slices leaves them); replicas go down, up,
// permdown and come back; local shoppers come and go. After every step the
// tracker's invariants hold.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "presence/delta_codec.hpp"
#include "presence/replication.hpp"
#include "presence/tracker.hpp"

namespace {

using namespace presence;

void require(bool ok) {
  if (!ok) std::abort();
}

// One process, one thread: the region's lock has nothing to exclude.
void no_lock(void*) noexcept {}

std::byte* region(std::size_t bytes) {
  static void* mem =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  require(mem != MAP_FAILED);
  return static_cast<std::byte*>(mem);
}

ReplicaName origin(FuzzedDataProvider& in) {
  static const char* const kNodes[] = {"store-a", "store-b", "store-c"};
  return ReplicaName{kNodes[in.ConsumeIntegralInRange<int>(0, 2)],
                     in.ConsumeIntegralInRange<std::uint64_t>(1, 2)};
}

CartMeta meta(FuzzedDataProvider& in) {
  static const char* const kPages[] = {"/", "/p/samba", "/cart"};
  CartMeta m{kPages[in.ConsumeIntegralInRange<int>(0, 2)], {}};
  const int items = in.ConsumeIntegralInRange<int>(0, 2);
  for (int i = 0; i < items; ++i) {
    m.items.push_back(CartItem{i == 0 ? "air-max-90" : "samba",
                               std::to_string(in.ConsumeIntegralInRange<int>(8, 11)),
                               in.ConsumeIntegralInRange<std::uint32_t>(1, 3)});
  }
  return m;
}

Delta built_delta(FuzzedDataProvider& in) {
  Delta d;
  d.origin = origin(in);
  d.full_state = in.ConsumeBool();
  d.from = d.full_state ? 0 : in.ConsumeIntegralInRange<std::uint64_t>(0, 40);
  d.to = d.from + in.ConsumeIntegralInRange<std::uint64_t>(0, 40);
  const int joins = in.ConsumeIntegralInRange<int>(0, 12);
  for (int i = 0; i < joins; ++i) {
    DeltaJoin j;
    j.topic = in.ConsumeBool() ? "admin:cart_tracker" : "store:lobby";
    j.key = "cart-" + std::to_string(in.ConsumeIntegralInRange<int>(0, 5));
    j.clock = in.ConsumeIntegralInRange<std::uint64_t>(0, 90);
    j.lineage = in.ConsumeIntegralInRange<std::uint64_t>(0, 90);
    j.prev_clock = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<std::uint64_t>(0, 90);
    j.meta = meta(in);
    j.page_loaded_at_ms = 1000;
    j.updated_at_ms = 2000;
    d.joins.push_back(std::move(j));
  }
  const int leaves = d.full_state ? 0 : in.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < leaves; ++i) {
    d.leaves.push_back(DeltaLeave{in.ConsumeIntegralInRange<std::uint64_t>(0, 90),
                                  in.ConsumeIntegralInRange<std::uint64_t>(0, 90)});
  }
  return d;
}

void merge(Replication& crdt, const Delta& d, bool sliced) {
  if (!sliced) {
    (void)crdt.merge(d);
    return;
  }
  MergeJob job(d);
  // A budget of nothing: a few dozen records a slice, the most slices.
  for (int i = 0; i < 10'000 && !job.done(); ++i) (void)crdt.merge_slice(job, 0);
  require(job.done());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::size_t bytes = Tracker::min_region_bytes();
  TrackerConfig cfg{"store-z", 1, kMinChangeLogBytes};
  cfg.tombstone_log_entries = kMinTombstoneLogEntries;
  std::optional<Tracker> tracker =
      Tracker::open(region(bytes), bytes, LockOps{nullptr, &no_lock, &no_lock}, cfg, true, nullptr);
  require(tracker.has_value());
  Replication crdt(*tracker);
  FuzzedDataProvider in(data, size);
  std::optional<MetaHandle> local;
  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {
        const std::string raw = in.ConsumeRandomLengthString(4096);
        if (const auto d = decode_delta(raw)) merge(crdt, *d, in.ConsumeBool());
        break;
      }
      case 1: {
        const Delta built = built_delta(in);
        const auto d = decode_delta(encode_delta(built));
        require(d && *d == built);
        merge(crdt, *d, in.ConsumeBool());
        break;
      }
      case 2: {
        const ReplicaName r = origin(in);
        switch (in.ConsumeIntegralInRange<int>(0, 3)) {
          case 0:
            (void)crdt.replica_down(r);
            break;
          case 1:
            (void)crdt.replica_up(r);
            break;
          case 2:
            (void)crdt.replica_permdown(r);
            break;
          default:
            (void)crdt.replica_readmit(r);
            break;
        }
        break;
      }
      case 3: {
        const TrackResult t =
            tracker->track("admin:cart_tracker", "local", meta(in), Owner{1, 1}, 3000);
        if (t.error == TrackError::none) local = t.handle;
        break;
      }
      default:
        if (local) (void)tracker->untrack(*local);
        local.reset();
        break;
    }
    std::string why;
    require(tracker->check_invariants(&why));
    // What a peer would be sent stays within what the codec takes back.
    require(static_cast<bool>(decode_delta(encode_delta(crdt.extract_delta(0)))));
  }
  return 0;
}
