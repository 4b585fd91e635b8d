#include "app/bench/audit_bench.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "app/bench/bench_support.h"
#include "audit/log_verifier.h"
#include "audit/merkle_store.h"
#include "connectors/log/accepted_reader.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/envelope_codec.h"
#include "connectors/log/fenced_writer.h"
#include "connectors/store/rocks_store.h"
#include "domain/tenant/tenant.h"
#include "domain/tenant/wire.h"
#include "projections/projection_runner.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::bench {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kTopic = "tenantry.events";
// Records per append while building: large batches, bounded memory.
constexpr size_t kBuildBatchEvents = 1000;
// The log's clock starts here (2026-11-26T00:00:00Z) and moves 1 ms per event.
constexpr int64_t kStartUs = 1795651200LL * 1000000;
// A reader short of the end offset seen at the start has records to return.
constexpr std::chrono::milliseconds kReadWait(10000);
// Located leaves checked against the log's record at their offset (not timed).
constexpr int64_t kLocateChecks = 100;
// Flushing the built log and its compactions take seconds; this long means stuck.
constexpr std::chrono::minutes kSettleAtMost(10);

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

ThroughputFigure throughput(std::string name, int64_t records, double seconds) {
  return ThroughputFigure{std::move(name), records, seconds, seconds > 0 ? static_cast<double>(records) / seconds : 0};
}

// The median by rate, so that one slow run (a neighbour's build) does not decide it.
ThroughputFigure median(std::vector<ThroughputFigure> runs) {
  if (runs.empty()) return {};
  std::sort(runs.begin(), runs.end(),
            [](const auto& a, const auto& b) { return a.records_per_second < b.records_per_second; });
  return runs[runs.size() / 2];
}

ProofLatency latency_of(const std::vector<double>& samples_us) {
  ProofLatency latency;
  latency.samples = static_cast<int64_t>(samples_us.size());
  if (samples_us.empty()) return latency;
  latency.p50_us = percentile(samples_us, 0.50);
  latency.p99_us = percentile(samples_us, 0.99);
  latency.max_us = *std::max_element(samples_us.begin(), samples_us.end());
  return latency;
}

// A counter-based generator (splitmix64): event i's choices are a function of i alone,
// so every building thread walks the same stream and takes its own partitions' events.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// ---------------------------------------------------------------------------
// Building the log.

struct Workload {
  std::vector<std::string> tenant_ids;
  std::vector<int32_t> partition_of;    // per tenant
  std::vector<int> registration_order;  // the first `tenants` events register them in this order
  std::vector<std::string> configured;  // TenantConfigured payloads, drawn per event
};

constexpr size_t kPayloadVariants = 4096;
constexpr std::string_view kTimezones[] = {"Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC",
                                           "America/Argentina/Buenos_Aires", "Australia/Sydney"};
constexpr std::string_view kLocales[] = {"en-GB", "fr-FR", "de-DE", "ja-JP", "es-419", "en-US"};

std::string registered_payload(const std::string& tenant, int t, int64_t at_us) {
  v1::TenantRegistered event;
  event.set_tenant_id(tenant);
  event.set_slug("acme-logistics-" + std::to_string(t));
  event.set_display_name("Acme Logistics " + std::to_string(t));
  event.set_plan(t % 7 == 0 ? "enterprise" : "business");
  event.set_isolation_tier(t % 7 == 0 ? v1::ISOLATION_TIER_DEDICATED : v1::ISOLATION_TIER_SHARED);
  event.set_region(t % 2 == 0 ? "eu-west-1" : "us-east-1");
  event.mutable_admin_contact()->set_name("Operations Team");
  event.mutable_admin_contact()->set_email("ops+" + std::to_string(t) + "@acme-logistics.example.com");
  (*event.mutable_settings())["general.timezone"] = kTimezones[static_cast<size_t>(t) % std::size(kTimezones)];
  (*event.mutable_settings())["branding.company_name"] = "Acme Logistics " + std::to_string(t) + " GmbH";
  event.set_registered_at_us(at_us);
  return event.SerializeAsString();
}

// A TenantConfigured of 150 to 250 bytes: a new display name and two to four settings
// changed, sometimes the admin contact. Drawn from a pool (serialising a protobuf map
// per event would dominate the build).
std::string configured_payload(uint64_t draw) {
  v1::TenantConfigured event;
  const auto n = std::to_string(draw % 100000);
  event.set_display_name("Acme Logistics " + n + " (revision " + std::to_string((draw >> 17) % 1000) + ")");
  auto& settings = *event.mutable_set_settings();
  char hook[24];
  std::snprintf(hook, sizeof hook, "%016llx", static_cast<unsigned long long>(mix(draw)));
  settings["notifications.webhook_url"] = "https://hooks.acme-logistics.example.com/v2/endpoints/" + std::string(hook);
  settings["general.locale"] = kLocales[draw % std::size(kLocales)];
  switch ((draw >> 12) % 3) {
    case 0: settings["branding.primary_colour"] = "#1f6feb"; break;
    case 1: settings["general.timezone"] = kTimezones[(draw >> 20) % std::size(kTimezones)]; break;
    default:
      settings["branding.company_name"] = "Acme Logistics " + n + " International Holdings";
      event.add_unset_settings("branding.logo_url");
      break;
  }
  if ((draw >> 24) % 4 == 0) {
    event.mutable_admin_contact()->set_name("Operations Team");
    event.mutable_admin_contact()->set_email("ops+" + n + "@acme-logistics.example.com");
  }
  return event.SerializeAsString();
}

Workload make_workload(const AuditBenchOptions& options) {
  Workload workload;
  std::mt19937_64 random(options.seed);
  for (int t = 0; t < options.tenants; ++t) {
    char id[48];
    std::snprintf(id, sizeof id, "tenant-%06d-%08llx", t, static_cast<unsigned long long>(random() & 0xFFFFFFFFull));
    workload.tenant_ids.emplace_back(id);
    workload.partition_of.push_back(log::partition_for_key(id, options.partitions));
    workload.registration_order.push_back(t);
  }
  std::shuffle(workload.registration_order.begin(), workload.registration_order.end(), random);
  for (size_t v = 0; v < kPayloadVariants; ++v) workload.configured.push_back(configured_payload(mix(options.seed + v)));
  return workload;
}

// Every tenant registers first; then each event is a configuration change of a tenant
// drawn uniformly.
int tenant_of_event(const Workload& workload, const AuditBenchOptions& options, int64_t index) {
  if (index < options.tenants) return workload.registration_order[static_cast<size_t>(index)];
  return static_cast<int>(mix(options.seed ^ static_cast<uint64_t>(index)) % static_cast<uint64_t>(options.tenants));
}

// Event `index` of tenant t, everything set but what the writer seals (sequence,
// epoch, previous hash, hash). Every field is set, so one envelope serves them all.
void fill_event(const Workload& workload, int t, int64_t index, std::mt19937_64& random, v1::EventEnvelope& envelope) {
  const std::string& tenant = workload.tenant_ids[static_cast<size_t>(t)];
  const int64_t at_us = kStartUs + index * 1000;
  const uint64_t draw = mix(~static_cast<uint64_t>(index));
  envelope.set_event_id(log::make_uuid_v7(at_us / 1000, random));
  envelope.set_tenant_id(tenant);
  envelope.set_schema_version(1);
  envelope.set_occurred_at_us(at_us);
  envelope.set_recorded_at_us(at_us + 150);
  auto* actor = envelope.mutable_actor();
  actor->set_kind("user");
  actor->set_id("user-" + std::to_string(t) + "-" + std::to_string(draw % 5));
  actor->set_tenant_id(tenant);
  actor->set_role("tenant_admin");
  const std::string command_id = log::make_uuid_v7(at_us / 1000, random);
  envelope.set_command_id(command_id);
  envelope.set_correlation_id(command_id);
  envelope.set_causation_id(command_id);
  if (index < static_cast<int64_t>(workload.tenant_ids.size())) {
    envelope.set_event_type("tenantry.v1.TenantRegistered");
    envelope.set_payload(registered_payload(tenant, t, at_us));
  } else {
    envelope.set_event_type("tenantry.v1.TenantConfigured");
    envelope.set_payload(workload.configured[draw % workload.configured.size()]);
  }
}

// One building thread: the events of the partitions p with p % threads == which, in
// stream order. Sealed as FencedWriter::prepare seals them (next sequence, previous
// hash, the claim's epoch in the envelope and the record header) with the envelope
// codec, without the writer's per-append copies; appended a batch at a time, a few
// batches in flight (one thread's appends to a partition land in call order).
std::string build_share(log::EventLog& log, const AuditBenchOptions& options, const Workload& workload,
                        const std::vector<uint64_t>& epochs, int which, int threads, int64_t* payload_bytes) {
  constexpr int kInFlight = 4;
  std::mt19937_64 random(options.seed + static_cast<uint64_t>(which) + 1);
  std::vector<log::ChainHead> heads(workload.tenant_ids.size());
  std::vector<std::string> epoch_texts;
  for (const uint64_t epoch : epochs) epoch_texts.push_back(std::to_string(epoch));
  std::mutex mutex;
  std::condition_variable settled;
  int in_flight = 0;
  std::string failure;
  log::AppendRequest request;
  // False once an append has failed: what follows would chain on events not in the log.
  auto send = [&] {
    if (request.records.empty()) return true;
    {
      std::unique_lock lock(mutex);
      settled.wait(lock, [&] { return in_flight < kInFlight; });
      if (!failure.empty()) return false;
      ++in_flight;
    }
    log.append_async(std::move(request), [&](log::Result<log::AppendResult> result) {
      std::lock_guard lock(mutex);
      if (!result && failure.empty()) failure = result.error().message;
      --in_flight;
      settled.notify_all();
    });
    request = log::AppendRequest{};
    request.records.reserve(kBuildBatchEvents);
    return true;
  };
  v1::EventEnvelope envelope;
  for (int64_t i = 0; i < options.events; ++i) {
    const int t = tenant_of_event(workload, options, i);
    const auto p = workload.partition_of[static_cast<size_t>(t)];
    if (p % threads != which) continue;
    fill_event(workload, t, i, random, envelope);
    *payload_bytes += static_cast<int64_t>(envelope.payload().size());
    log::ChainHead& head = heads[static_cast<size_t>(t)];
    envelope.set_sequence(head.sequence + 1);
    envelope.set_previous_hash(head.hash);
    envelope.set_writer_epoch(epochs[static_cast<size_t>(p)]);
    std::string value = log::seal_envelope(envelope);
    head.sequence = envelope.sequence();
    head.hash = envelope.hash();
    request.records.push_back(log::Record{kTopic, envelope.tenant_id(), std::move(value),
                                          {{std::string(log::kEpochHeader), epoch_texts[static_cast<size_t>(p)]}}, p});
    if (request.records.size() >= kBuildBatchEvents && !send()) break;
  }
  send();
  std::unique_lock lock(mutex);
  settled.wait(lock, [&] { return in_flight == 0; });
  return failure.empty() ? std::string() : "appending: " + failure;
}

// ---------------------------------------------------------------------------
// The engine's RocksDB opened directly (the engine closed), as the raw baseline.

class RawLogDb {
 public:
  ~RawLogDb() { close(); }

  bool open(const std::string& path, std::string* error) {
    rocksdb::Options options;
    log::embedded::tune_rocksdb_options(options, log::embedded::EmbeddedOptions{});
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
        {"records", rocksdb::ColumnFamilyOptions(options)},
        {"offsets", rocksdb::ColumnFamilyOptions(options)}};
    auto status = rocksdb::DB::Open(options, path, families, &handles_, &db_);
    if (!status.ok()) *error = "opening the log's RocksDB: " + status.ToString();
    return status.ok();
  }

  // Flushes the memtables and waits until no flush or compaction is pending or
  // running, so that none runs under the measured reads.
  bool settle(std::string* error) {
    auto status = db_->Flush(rocksdb::FlushOptions(), handles_);
    if (!status.ok()) {
      *error = "flushing the log: " + status.ToString();
      return false;
    }
    const auto deadline = Clock::now() + kSettleAtMost;
    while (Clock::now() < deadline) {
      uint64_t pending = 0;
      uint64_t running_compactions = 0;
      uint64_t running_flushes = 0;
      db_->GetIntProperty(handles_[1], rocksdb::DB::Properties::kCompactionPending, &pending);
      db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &running_compactions);
      db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &running_flushes);
      if (pending == 0 && running_compactions == 0 && running_flushes == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *error = "the log's compactions did not settle within 10 minutes";
    return false;
  }

  // Every record of the records family through one iterator, key and value copied out
  // as any reader that hands records on must (as `bench log`'s raw scan does).
  ThroughputFigure scan(int64_t* bytes, std::string* error) {
    const auto start = Clock::now();
    int64_t count = 0;
    int64_t total = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string key = it->key().ToString();
      std::string value = it->value().ToString();
      total += static_cast<int64_t>(key.size() + value.size());
      ++count;
    }
    auto figure = throughput("raw_rocksdb_scan", count, seconds_since(start));
    if (!it->status().ok()) *error = "raw scan: " + it->status().ToString();
    *bytes = total;
    return figure;
  }

  void close() {
    if (db_ == nullptr) return;
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    handles_.clear();
    db_->Close();
    delete db_;
    db_ = nullptr;
  }

 private:
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// ---------------------------------------------------------------------------
// The measured reads.

// Runs `each(partition)` for every partition on `threads` threads taking partitions in
// turn; the first error stops the others from taking more.
template <class Each>
std::string for_partitions(int32_t partitions, int threads, Each each) {
  std::atomic<int32_t> next{0};
  std::mutex mutex;
  std::string failure;
  auto work = [&] {
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (!failure.empty()) return;
      }
      const int32_t p = next++;
      if (p >= partitions) return;
      if (auto failed = each(p); !failed.empty()) {
        std::lock_guard lock(mutex);
        if (failure.empty()) failure = std::move(failed);
      }
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(work);
    for (auto& worker : workers) worker.join();
  }
  return failure;
}

// A PartitionReader per partition, every record read, nothing else done with it.
ThroughputFigure raw_read(log::EventLog& log, const AuditBenchOptions& options, int threads, std::string* error) {
  std::atomic<int64_t> count{0};
  const auto start = Clock::now();
  *error = for_partitions(options.partitions, threads, [&](int32_t p) -> std::string {
    auto end = log.end_offset(kTopic, p);
    if (!end) return end.error().message;
    auto reader = log.open_reader(kTopic, p, 0);
    if (!reader) return reader.error().message;
    while ((*reader)->position() < *end) {
      auto records = (*reader)->read(options.read_batch_records, kReadWait);
      if (!records) return records.error().message;
      if (records->empty()) return "raw read stalled on partition " + std::to_string(p);
      count += static_cast<int64_t>(records->size());
    }
    return {};
  });
  return throughput(threads == 1 ? "raw_read" : "raw_read_parallel", count, seconds_since(start));
}

struct Replayed {
  int64_t events = 0;
  int64_t undecoded = 0;
  int64_t out_of_step = 0;  // states whose version is not the event's sequence after it
  int64_t violations = 0;
  std::unordered_map<std::string, domain::tenant::TenantState> states;
};

// Every tenant's state, rebuilt with the aggregate's evolve over the topic's accepted
// history: per partition an AcceptedReader, as audit::read_accepted reads them for
// `audit state`, the partitions divided among the threads. A tenant's events are all
// in one partition, so each thread's states are its own until they are gathered.
log::Result<Replayed> replay(log::EventLog& log, const AuditBenchOptions& options, int threads) {
  std::vector<Replayed> parts(static_cast<size_t>(options.partitions));
  auto failure = for_partitions(options.partitions, threads, [&](int32_t p) -> std::string {
    Replayed& part = parts[static_cast<size_t>(p)];
    auto end = log.end_offset(kTopic, p);
    if (!end) return end.error().message;
    auto reader = log::AcceptedReader::open(log, kTopic, p, 0, log::TopicKind::events);
    if (!reader) return reader.error().message;
    v1::TenantEvent event;
    while ((*reader)->position() < *end) {
      auto batch = (*reader)->read(options.read_batch_records, kReadWait);
      if (!batch) return batch.error().message;
      if (batch->records_read == 0) return "replay stalled on partition " + std::to_string(p);
      part.violations += static_cast<int64_t>(batch->violations.size());
      for (const auto& accepted : batch->records) {
        if (accepted.record.offset >= *end) break;
        const auto& envelope = accepted.envelope;
        if (domain::tenant::event_from_wire(envelope.event_type(), envelope.payload(), event) !=
            domain::tenant::WireRead::ok) {
          event.Clear();  // evolve advances the version only
          ++part.undecoded;
        }
        auto& state = part.states[envelope.tenant_id()];
        state = domain::tenant::evolve(std::move(state), event);
        if (state.version != envelope.sequence()) ++part.out_of_step;
        ++part.events;
      }
    }
    return {};
  });
  if (!failure.empty()) return log::fail(log::ErrorCode::io, failure);
  Replayed all;
  all.states.reserve(static_cast<size_t>(options.tenants));
  for (auto& part : parts) {
    all.events += part.events;
    all.undecoded += part.undecoded;
    all.out_of_step += part.out_of_step;
    all.violations += part.violations;
    all.states.merge(part.states);
  }
  return all;
}

// ---------------------------------------------------------------------------
// Proofs.

// A partition drawn in proportion to its leaves, so that every event is equally likely.
int32_t draw_partition(const std::vector<uint64_t>& cumulative, std::mt19937_64& random, uint64_t* leaf) {
  const uint64_t g = random() % cumulative.back();
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), g);
  const auto p = static_cast<int32_t>(it - cumulative.begin());
  *leaf = g - (p == 0 ? 0 : cumulative[static_cast<size_t>(p) - 1]);
  return p;
}

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

std::string hex_or_error(const log::Result<audit::Hash>& hash) {
  return hash ? audit::to_hex(*hash) : "(" + hash.error().message + ")";
}

}  // namespace

AuditFigures bench_audit(const AuditBenchOptions& options, std::string* error) {
  AuditFigures figures;
  figures.events = options.events;
  figures.threads = std::max(1, options.threads);
  const fs::path root = options.dir;
  const std::string log_path = (root / "log").string();
  std::error_code ignored;
  // The directory is removed wholesale: only if it holds nothing but a previous run's.
  if (fs::exists(root)) {
    for (const auto& entry : fs::directory_iterator(root, ignored)) {
      const auto name = entry.path().filename().string();
      if (name != "log" && name != "merkle") {
        *error = root.string() + " holds " + name + ": not a bench audit scratch directory, not removing it";
        return figures;
      }
    }
  }
  fs::remove_all(root, ignored);
  fs::create_directories(root);
  auto finish = [&] {
    if (!options.keep) fs::remove_all(root, ignored);
    return figures;
  };
  if (options.tenants < 1 || options.tenants > 1000000 || options.partitions < 1 || options.events < 1) {
    *error = "events, tenants (at most 1,000,000) and partitions must be positive";
    return finish();
  }
  const Workload workload = make_workload(options);

  // 1. The log. fsync off while building: the data is thrown away afterwards, and the
  // figures only read it (a crash would lose the bench, nothing else).
  {
    auto log = log::embedded::open_embedded_log({log_path, false});
    if (!log) {
      *error = log.error().message;
      return finish();
    }
    if (auto created = (*log)->create_topic({kTopic, options.partitions}); !created) {
      *error = created.error().message;
      return finish();
    }
    const auto start = Clock::now();
    std::vector<uint64_t> epochs;
    for (int32_t p = 0; p < options.partitions; ++p) {
      auto writer = log::FencedWriter::claim(**log, kTopic, p, "bench-audit-writer", kStartUs);
      if (!writer) {
        *error = "claiming partition " + std::to_string(p) + ": " + writer.error().message;
        return finish();
      }
      epochs.push_back((*writer)->epoch());
    }
    const int threads = std::clamp(figures.threads, 1, options.partitions);
    std::vector<std::string> failures(static_cast<size_t>(threads));
    std::vector<int64_t> payload_bytes(static_cast<size_t>(threads), 0);
    std::vector<std::thread> builders;
    for (int k = 0; k < threads; ++k) {
      builders.emplace_back([&, k] {
        failures[static_cast<size_t>(k)] =
            build_share(**log, options, workload, epochs, k, threads, &payload_bytes[static_cast<size_t>(k)]);
      });
    }
    for (auto& builder : builders) builder.join();
    for (const auto& failure : failures) {
      if (!failure.empty()) {
        *error = failure;
        return finish();
      }
    }
    figures.build_seconds = seconds_since(start);
    int64_t total = 0;
    for (const int64_t bytes : payload_bytes) total += bytes;
    figures.payload_bytes_mean = static_cast<double>(total) / static_cast<double>(options.events);
  }
  {
    RawLogDb raw;
    const auto start = Clock::now();
    if (!raw.open(log_path, error) || !raw.settle(error)) return finish();
    figures.settle_seconds = seconds_since(start);
  }

  // 2. Per run, on the same log: the raw RocksDB scan (engine closed), then through
  // the engine the raw read, verification and replay, on one thread and on `threads`.
  std::vector<ThroughputFigure> scans, reads, parallel_reads, verifies, parallel_verifies, replays;
  std::unique_ptr<log::EventLog> log;
  audit::VerifyReport report;
  Replayed replayed;
  for (int run = 0; run < options.runs; ++run) {
    log.reset();
    {
      RawLogDb raw;
      if (!raw.open(log_path, error)) return finish();
      int64_t bytes = 0;
      scans.push_back(raw.scan(&bytes, error));
      if (!error->empty()) return finish();
      figures.records = scans.back().records;
      figures.bytes_per_record =
          figures.records > 0 ? static_cast<double>(bytes) / static_cast<double>(figures.records) : 0;
    }
    auto opened = log::embedded::open_embedded_log({log_path, true});
    if (!opened) {
      *error = opened.error().message;
      return finish();
    }
    log = std::move(*opened);

    reads.push_back(raw_read(*log, options, 1, error));
    if (error->empty()) parallel_reads.push_back(raw_read(*log, options, figures.threads, error));
    if (!error->empty()) {
      *error = "raw read: " + *error;
      return finish();
    }

    std::vector<audit::VerifyReport> reports;
    for (const int threads : {1, figures.threads}) {
      audit::VerifyOptions verify_options;
      verify_options.topic = kTopic;
      verify_options.batch_records = options.read_batch_records;
      verify_options.threads = static_cast<size_t>(threads);
      const auto start = Clock::now();
      auto verified = audit::verify_log(*log, verify_options);
      const double seconds = seconds_since(start);
      if (!verified) {
        *error = "verify: " + verified.error().message;
        return finish();
      }
      int64_t leaves = 0;
      for (const auto& partition : verified->partitions) leaves += partition.events;
      (reports.empty() ? verifies : parallel_verifies)
          .push_back(throughput(reports.empty() ? "verify" : "verify_parallel", leaves, seconds));
      reports.push_back(std::move(*verified));
    }
    // One thread or several, the same verdict and the same roots.
    bool same = reports[0].findings == reports[1].findings && reports[0].partitions.size() == reports[1].partitions.size();
    for (size_t i = 0; same && i < reports[0].partitions.size(); ++i) {
      same = reports[0].partitions[i].root == reports[1].partitions[i].root &&
             reports[0].partitions[i].events == reports[1].partitions[i].events;
    }
    if (!same) {
      *error = "verify_log on 1 and on " + std::to_string(figures.threads) + " threads disagree";
      return finish();
    }
    report = std::move(reports[0]);

    const auto start = Clock::now();
    auto rebuilt = replay(*log, options, figures.threads);
    if (!rebuilt) {
      *error = "replay: " + rebuilt.error().message;
      return finish();
    }
    replays.push_back(throughput("replay_to_state", rebuilt->events, seconds_since(start)));
    replayed = std::move(*rebuilt);
  }
  figures.raw_rocksdb_scan = median(scans);
  figures.raw_read = median(reads);
  figures.raw_read_parallel = median(parallel_reads);
  figures.verify = median(verifies);
  figures.verify_parallel = median(parallel_verifies);
  figures.replay = median(replays);
  figures.verified = report.verified();
  figures.findings = report.findings;
  if (report.first_finding) figures.first_finding = report.first_finding->describe();
  for (const auto& partition : report.partitions) figures.verified_events += partition.events;
  figures.replayed_events = replayed.events;
  figures.replayed_tenants = static_cast<int64_t>(replayed.states.size());
  {
    const int64_t expected_tenants = std::min<int64_t>(options.tenants, options.events);
    bool match = replayed.out_of_step == 0 && replayed.undecoded == 0 && replayed.violations == 0 &&
                 figures.replayed_tenants == expected_tenants && replayed.events == figures.verified_events;
    for (const auto& [tenant, state] : replayed.states) match = match && state.exists && state.tenant_id == tenant;
    figures.states_match_sequences = match;
  }
  if (!figures.verified) {
    *error = "the built log did not verify: " + figures.first_finding;
    return finish();
  }

  // 3. The stored Merkle trees: MerkleTreeModel fed by a ProjectionRunner over the
  // topic, into a RocksStore beside the log.
  auto store = store::RocksStore::open({(root / "merkle").string(), {projections::kOffsetsFamily, audit::kMerkleFamily}});
  if (!store) {
    *error = "opening the Merkle store: " + store.error().message;
    return finish();
  }
  {
    audit::MerkleTreeModel model;
    projections::RunnerOptions runner_options;
    runner_options.topic = kTopic;
    runner_options.max_batch_events = options.read_batch_records;
    projections::ProjectionRunner runner(*log, **store, model, runner_options);
    const auto start = Clock::now();
    auto applied = runner.catch_up();
    if (!applied) {
      *error = "building the Merkle trees: " + applied.error().message;
      return finish();
    }
    figures.merkle_build = throughput("merkle_build", *applied, seconds_since(start));
    if (auto violations = runner.violations(); !violations.empty()) {
      *error = "the Merkle model's runner saw violations: " + violations.front().describe();
      return finish();
    }
  }

  // The stored roots must be verify_log's, or every proof below proves the wrong tree.
  audit::MerkleTrees trees(**store);
  std::vector<uint64_t> sizes(static_cast<size_t>(options.partitions), 0);
  std::vector<audit::Hash> roots(static_cast<size_t>(options.partitions));
  for (const auto& partition : report.partitions) {
    const auto p = partition.partition;
    auto size = trees.size(p);
    auto stored_root = size ? trees.root(p, *size) : log::Result<audit::Hash>(std::unexpected(size.error()));
    if (!size || *size != static_cast<uint64_t>(partition.events) || !stored_root || *stored_root != partition.root) {
      *error = "stored Merkle tree of " + std::string(kTopic) + "/" + std::to_string(p) +
               " differs from verify_log's: size " + (size ? std::to_string(*size) : "(" + size.error().message + ")") +
               " root " + hex_or_error(stored_root) + ", verify_log: size " + std::to_string(partition.events) +
               " root " + audit::to_hex(partition.root);
      return finish();
    }
    sizes[static_cast<size_t>(p)] = *size;
    roots[static_cast<size_t>(p)] = *stored_root;
  }
  figures.roots_match = true;

  // 4. Proofs from the stored trees, timed one by one; each checked afterwards (not
  // timed) against the stored roots with the RFC 9162 verifiers.
  std::vector<uint64_t> cumulative;
  for (const uint64_t size : sizes) cumulative.push_back((cumulative.empty() ? 0 : cumulative.back()) + size);
  if (cumulative.empty() || cumulative.back() == 0) {
    *error = "no events to prove";
    return finish();
  }
  std::mt19937_64 random(options.seed);
  std::string proof_failure;
  auto failed = [&](const std::string& what) {
    if (proof_failure.empty()) proof_failure = what;
  };
  std::vector<double> inclusion_us, consistency_us, locate_us;
  for (int64_t n = 0; n < options.proofs; ++n) {
    uint64_t index = 0;
    const int32_t p = draw_partition(cumulative, random, &index);
    const uint64_t size = sizes[static_cast<size_t>(p)];
    const auto start = Clock::now();
    auto proof = trees.inclusion_proof(p, index, size);
    inclusion_us.push_back(micros_since(start));
    auto leaf = trees.leaf(p, index);
    if (!proof || !leaf || !audit::verify_inclusion(*leaf, index, size, *proof, roots[static_cast<size_t>(p)])) {
      failed("inclusion proof of leaf " + std::to_string(index) + " of partition " + std::to_string(p));
    }
  }
  for (int64_t n = 0; n < options.proofs; ++n) {
    uint64_t unused = 0;
    const int32_t p = draw_partition(cumulative, random, &unused);
    const uint64_t size = sizes[static_cast<size_t>(p)];
    const uint64_t old_size = 1 + random() % size;
    const uint64_t new_size = old_size + random() % (size - old_size + 1);
    const auto start = Clock::now();
    auto proof = trees.consistency_proof(p, old_size, new_size);
    consistency_us.push_back(micros_since(start));
    auto old_root = trees.root(p, old_size);
    auto new_root = trees.root(p, new_size);
    if (!proof || !old_root || !new_root || (new_size == size && *new_root != roots[static_cast<size_t>(p)]) ||
        !audit::verify_consistency(old_size, new_size, *old_root, *new_root, *proof)) {
      failed("consistency proof " + std::to_string(old_size) + " -> " + std::to_string(new_size) + " of partition " +
             std::to_string(p));
    }
  }
  // As an auditor asks for it: this tenant's event number N, in its partition's tree.
  std::vector<std::pair<std::string, uint64_t>> tenants;  // id, last sequence
  for (const auto& [tenant, state] : replayed.states) tenants.emplace_back(tenant, state.version);
  std::sort(tenants.begin(), tenants.end());
  for (int64_t n = 0; n < options.proofs && !tenants.empty(); ++n) {
    const auto& [tenant, last] = tenants[random() % tenants.size()];
    const uint64_t sequence = 1 + random() % last;
    const auto start = Clock::now();
    auto location = trees.locate(tenant, sequence);
    log::Result<std::vector<audit::Hash>> proof = std::vector<audit::Hash>{};
    if (location && *location) {
      proof = trees.inclusion_proof((*location)->partition, (*location)->index,
                                    sizes[static_cast<size_t>((*location)->partition)]);
    }
    locate_us.push_back(micros_since(start));
    if (!location || !*location || !proof) {
      failed("locating " + tenant + " seq " + std::to_string(sequence));
      continue;
    }
    const auto& where = **location;
    auto leaf = trees.leaf(where.partition, where.index);
    if (!leaf || !audit::verify_inclusion(*leaf, where.index, sizes[static_cast<size_t>(where.partition)], *proof,
                                          roots[static_cast<size_t>(where.partition)])) {
      failed("inclusion proof of " + tenant + " seq " + std::to_string(sequence));
    }
    // For some of them, that the located leaf is that event's stored bytes in the log.
    if (n < kLocateChecks && leaf) {
      auto reader = log->open_reader(kTopic, where.partition, where.offset);
      auto records = reader ? (*reader)->read(1, kReadWait) : log::Result<std::vector<log::StoredRecord>>{};
      if (!records || records->size() != 1 || (*records)[0].key != tenant ||
          audit::leaf_hash((*records)[0].value) != *leaf) {
        failed("the leaf located for " + tenant + " seq " + std::to_string(sequence) + " is not its event");
      }
    }
  }
  figures.inclusion = latency_of(inclusion_us);
  figures.consistency = latency_of(consistency_us);
  figures.locate_and_inclusion = latency_of(locate_us);
  figures.proofs_verified = proof_failure.empty();
  if (!proof_failure.empty()) *error = "a proof from the stored Merkle trees did not verify: " + proof_failure;

  store->reset();
  log.reset();
  return finish();
}

}  // namespace tenantry::bench
