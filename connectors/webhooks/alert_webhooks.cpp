#include "connectors/webhooks/alert_webhooks.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <random>
#include <sstream>

#include "connectors/http/outbound.h"
#include "connectors/store/key_codec.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::webhooks {

namespace {

using store::get_be;
using store::put_be;

constexpr size_t kDeliveriesPerRound = 50;

std::string offset_key(int32_t partition) {
  std::string key(1, 'o');
  put_be(key, static_cast<uint32_t>(partition), 4);
  return key;
}

std::string record_key(const std::string& id) { return "r" + id; }
std::string dead_key(const std::string& id) { return "x" + id; }
std::string due_key(int64_t due_us, const std::string& id) {
  std::string key(1, 'q');
  put_be(key, static_cast<uint64_t>(std::max<int64_t>(due_us, 0)), 8);
  return key + id;
}

std::string stringify(const Poco::JSON::Object& object) {
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

std::string encode(const Delivery& delivery) {
  Poco::JSON::Object object;
  object.set("id", delivery.id);
  object.set("tenantId", delivery.tenant_id);
  object.set("payload", delivery.payload);
  object.set("attempts", delivery.attempts);
  object.set("status", delivery.status);
  object.set("lastError", delivery.last_error);
  object.set("nextAttemptUs", delivery.next_attempt_us);
  return stringify(object);
}

std::optional<Delivery> decode(const std::string& text) {
  try {
    auto object = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    Delivery delivery;
    delivery.id = object->getValue<std::string>("id");
    delivery.tenant_id = object->getValue<std::string>("tenantId");
    delivery.payload = object->getValue<std::string>("payload");
    delivery.attempts = object->getValue<int>("attempts");
    delivery.status = object->getValue<std::string>("status");
    delivery.last_error = object->getValue<std::string>("lastError");
    delivery.next_attempt_us = object->getValue<int64_t>("nextAttemptUs");
    return delivery;
  } catch (...) {
    return std::nullopt;
  }
}

std::string payload_of(const v1::QuotaAlert& alert) {
  Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
  if (alert.quota().starts_with("billing.")) {
    object.set("type", alert.quota());
    object.set("alertId", alert.alert_id());
    object.set("tenantId", alert.tenant_id());
    object.set("invoiceId", alert.invoice_id());
    object.set("reason", alert.reason());
    object.set("raisedAtUs", alert.raised_at_us());
    return stringify(object);
  }
  object.set("type", alert.quota() == "rate_limit" ? "quota.soft_limit_exceeded" : "quota.threshold_reached");
  object.set("alertId", alert.alert_id());
  object.set("tenantId", alert.tenant_id());
  object.set("quota", alert.quota());
  object.set("thresholdPercent", alert.threshold_percent());
  object.set("limit", alert.limit());
  object.set("used", alert.used());
  object.set("windowStartUs", alert.window_start_us());
  object.set("raisedAtUs", alert.raised_at_us());
  return stringify(object);
}

}  // namespace

AlertWebhooks::AlertWebhooks(log::EventLog& log, store::RocksStore& store, std::function<int64_t()> now_us,
                             WebhookOptions options)
    : log_(log), store_(store), now_us_(std::move(now_us)), options_(std::move(options)) {
  std::random_device device;
  jitter_state_ = (static_cast<uint64_t>(device()) << 32) ^ device();
}

AlertWebhooks::~AlertWebhooks() { stop(); }

void AlertWebhooks::start() {
  if (thread_.joinable() || options_.url.empty()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(wake_mutex_);
    while (!stopping_) {
      lock.unlock();
      auto round = step();
      lock.lock();
      if (!round) {
        std::lock_guard guard(mutex_);
        failure_ = round.error().message;
      }
      wake_.wait_for(lock, options_.poll, [this] { return stopping_; });
    }
  });
}

void AlertWebhooks::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::string> AlertWebhooks::failure() {
  std::lock_guard lock(mutex_);
  return failure_;
}

int64_t AlertWebhooks::backoff_us(int attempts) {
  // Exponential, capped, with equal jitter: half the step fixed, half random, so
  // retries of many deliveries spread out and none comes back at once.
  const int64_t base = std::chrono::duration_cast<std::chrono::microseconds>(options_.base_delay).count();
  const int64_t cap = std::chrono::duration_cast<std::chrono::microseconds>(options_.max_delay).count();
  int64_t step = base;
  for (int i = 1; i < attempts && step < cap; ++i) step *= 2;
  step = std::min(step, cap);
  jitter_state_ ^= jitter_state_ << 13;
  jitter_state_ ^= jitter_state_ >> 7;
  jitter_state_ ^= jitter_state_ << 17;
  const int64_t half = std::max<int64_t>(step / 2, 1);
  return half + static_cast<int64_t>(jitter_state_ % static_cast<uint64_t>(half));
}

log::Result<void> AlertWebhooks::take_in() {
  auto partitions = log_.partition_count(options_.topic);
  if (!partitions) return std::unexpected(partitions.error());
  if (readers_.size() != static_cast<size_t>(*partitions)) {
    readers_.clear();
    for (int32_t p = 0; p < *partitions; ++p) {
      auto stored = store_.get(kWebhooksFamily, offset_key(p));
      if (!stored) return std::unexpected(stored.error());
      const int64_t from = *stored && (*stored)->size() == 8 ? static_cast<int64_t>(get_be(**stored, 0, 8)) : 0;
      auto reader = log::AcceptedReader::open(log_, options_.topic, p, from, log::TopicKind::fenced);
      if (!reader) return std::unexpected(reader.error());
      readers_.push_back(std::move(*reader));
    }
  }
  for (size_t p = 0; p < readers_.size(); ++p) {
    auto read = readers_[p]->read(500, std::chrono::milliseconds(0));
    if (!read) return std::unexpected(read.error());
    if (read->records_read == 0) continue;
    auto batch = store_.batch();
    const int64_t now = now_us_();
    for (const auto& accepted : read->records) {
      v1::QuotaAlert alert;
      if (!alert.ParseFromString(accepted.record.value) || alert.alert_id().empty()) continue;
      Delivery delivery;
      delivery.id = alert.tenant_id() + ":" + alert.alert_id();
      auto known = batch.get(kWebhooksFamily, record_key(delivery.id));
      if (!known) return std::unexpected(known.error());
      if (*known) continue;  // raised again (another node, a retry): delivered once
      delivery.tenant_id = alert.tenant_id();
      delivery.payload = payload_of(alert);
      delivery.status = "pending";
      delivery.next_attempt_us = now;
      batch.put(kWebhooksFamily, record_key(delivery.id), encode(delivery));
      batch.put(kWebhooksFamily, due_key(now, delivery.id), "");
    }
    std::string offset;
    put_be(offset, static_cast<uint64_t>(readers_[p]->position()), 8);
    batch.put(kWebhooksFamily, offset_key(static_cast<int32_t>(p)), offset);
    if (auto written = store_.write(batch, true); !written) return std::unexpected(written.error());
  }
  return {};
}

log::Result<void> AlertWebhooks::save(const Delivery& delivery, std::optional<int64_t> old_due) {
  auto batch = store_.batch();
  if (old_due) batch.erase(kWebhooksFamily, due_key(*old_due, delivery.id));
  batch.put(kWebhooksFamily, record_key(delivery.id), encode(delivery));
  if (delivery.status == "pending") batch.put(kWebhooksFamily, due_key(delivery.next_attempt_us, delivery.id), "");
  if (delivery.status == "dead") batch.put(kWebhooksFamily, dead_key(delivery.id), "");
  else batch.erase(kWebhooksFamily, dead_key(delivery.id));
  return store_.write(batch, true);
}

log::Result<int> AlertWebhooks::deliver_due() {
  const int64_t now = now_us_();
  std::vector<std::pair<int64_t, std::string>> due;
  auto scanned = store_.scan(kWebhooksFamily, "q", "q", kDeliveriesPerRound, [&](std::string_view key, std::string_view) {
    if (key.size() < 9) return true;
    const auto at = static_cast<int64_t>(get_be(key, 1, 8));
    if (at > now) return false;
    due.emplace_back(at, std::string(key.substr(9)));
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  int attempted = 0;
  for (const auto& [at, id] : due) {
    auto stored = store_.get(kWebhooksFamily, record_key(id));
    if (!stored) return std::unexpected(stored.error());
    auto delivery = *stored ? decode(**stored) : std::nullopt;
    if (!delivery) {
      auto batch = store_.batch();
      batch.erase(kWebhooksFamily, due_key(at, id));
      if (auto written = store_.write(batch, true); !written) return std::unexpected(written.error());
      continue;
    }
    ++attempted;
    const int64_t timestamp_s = now_us_() / 1000000;
    auto answer = http::post(options_.url,
                             {{kSignatureHeader, signature_header({options_.secret}, timestamp_s, delivery->payload)},
                              {"Tenantry-Delivery", delivery->id}},
                             delivery->payload, "application/json", options_.timeout);
    ++delivery->attempts;
    if (answer.status >= 200 && answer.status < 300) {
      delivery->status = "delivered";
      delivery->last_error.clear();
    } else {
      delivery->last_error = answer.status != 0 ? "answered " + std::to_string(answer.status) : answer.error;
      if (delivery->attempts >= options_.max_attempts) {
        delivery->status = "dead";
      } else {
        delivery->next_attempt_us = now_us_() + backoff_us(delivery->attempts);
      }
    }
    if (auto saved = save(*delivery, at); !saved) return std::unexpected(saved.error());
  }
  return attempted;
}

log::Result<int> AlertWebhooks::step() {
  std::lock_guard lock(mutex_);
  if (options_.url.empty()) return 0;
  if (auto taken = take_in(); !taken) return std::unexpected(taken.error());
  return deliver_due();
}

log::Result<std::vector<Delivery>> AlertWebhooks::dead_letters(size_t limit) {
  std::vector<std::string> ids;
  auto scanned = store_.scan(kWebhooksFamily, "x", "x", limit, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(1));
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  std::vector<Delivery> out;
  for (const auto& id : ids) {
    auto found = delivery(id);
    if (!found) return std::unexpected(found.error());
    if (*found) out.push_back(std::move(**found));
  }
  return out;
}

log::Result<std::optional<Delivery>> AlertWebhooks::delivery(const std::string& delivery_id) {
  auto stored = store_.get(kWebhooksFamily, record_key(delivery_id));
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return std::optional<Delivery>();
  return decode(**stored);
}

log::Result<bool> AlertWebhooks::replay(const std::string& delivery_id) {
  std::lock_guard lock(mutex_);
  auto found = delivery(delivery_id);
  if (!found) return std::unexpected(found.error());
  if (!*found || (*found)->status != "dead") return false;
  Delivery delivery = std::move(**found);
  delivery.status = "pending";
  delivery.attempts = 0;
  delivery.next_attempt_us = now_us_();
  if (auto saved = save(delivery, std::nullopt); !saved) return std::unexpected(saved.error());
  wake_.notify_all();
  return true;
}

}  // namespace tenantry::webhooks
