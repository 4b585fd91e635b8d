// Quota alerts and billing notices (tenantry.alerts) delivered as signed webhooks to the operator's
// endpoint: each alert once (by its id, whatever node raised it), POSTed as JSON with
//   Tenantry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//   Tenantry-Delivery: <delivery id>
// retried on failure (no answer, or not 2xx) with exponential backoff and jitter, and
// after the last attempt kept on a dead-letter list an operator can list and replay.
//
// State (store family "webhooks"), written with the alerts topic's offsets in one batch:
//   'r' delivery id              -> the delivery (JSON: payload, attempts, status, last error)
//   'q' due time delivery id     -> ""   (pending, by when it is due)
//   'x' delivery id              -> ""   (dead letters)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/log/accepted_reader.h"
#include "connectors/store/rocks_store.h"
#include "connectors/webhooks/signature.h"

namespace tenantry::webhooks {

inline constexpr const char* kWebhooksFamily = "webhooks";

struct WebhookOptions {
  std::string url;     // the operator's endpoint; empty: alerts are not delivered
  std::string secret;  // the HMAC key
  std::string topic = "tenantry.alerts";
  int max_attempts = 8;
  std::chrono::milliseconds base_delay{1000};   // first retry after about this long
  std::chrono::milliseconds max_delay{300000};  // backoff stops growing here
  std::chrono::milliseconds timeout{5000};      // per delivery attempt
  std::chrono::milliseconds poll{100};          // how often the worker looks for work
};

struct Delivery {
  std::string id;
  std::string tenant_id;
  std::string payload;  // the JSON body
  int attempts = 0;
  std::string status;   // pending, delivered, dead
  std::string last_error;
  int64_t next_attempt_us = 0;
};

class AlertWebhooks {
 public:
  AlertWebhooks(log::EventLog& log, store::RocksStore& store, std::function<int64_t()> now_us, WebhookOptions options);
  ~AlertWebhooks();

  void start();
  void stop();
  // One round on the caller's thread (tests, tools): takes in new alerts, then delivers
  // what is due. Returns deliveries attempted.
  log::Result<int> step();

  log::Result<std::vector<Delivery>> dead_letters(size_t limit);
  // Back to pending, due now, attempts counted from zero; false for an unknown id or
  // one that is not dead.
  log::Result<bool> replay(const std::string& delivery_id);
  log::Result<std::optional<Delivery>> delivery(const std::string& delivery_id);
  std::optional<std::string> failure();

 private:
  log::Result<void> take_in();
  log::Result<int> deliver_due();
  log::Result<void> save(const Delivery& delivery, std::optional<int64_t> old_due);
  int64_t backoff_us(int attempts);

  log::EventLog& log_;
  store::RocksStore& store_;
  std::function<int64_t()> now_us_;
  WebhookOptions options_;
  std::vector<std::unique_ptr<log::AcceptedReader>> readers_;
  std::mutex mutex_;  // one round at a time; guards failure_
  std::optional<std::string> failure_;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  uint64_t jitter_state_;
};

}  // namespace tenantry::webhooks
