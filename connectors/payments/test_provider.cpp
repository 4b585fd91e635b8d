#include "connectors/payments/test_provider.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <optional>
#include <sstream>

#include "connectors/store/key_codec.h"

namespace tenantry::payments {

namespace {

using store::get_be;
using store::put_be;

constexpr const char* kCountKey = "n";

// What a token asks the provider to do.
struct Behaviour {
  int declines_first = 0;  // decline the first this many charges of an invoice; -1: always
};

std::optional<Behaviour> behaviour_of(const std::string& token) {
  if (token.starts_with("pm_ok")) return Behaviour{0};
  if (token == "pm_decline") return Behaviour{-1};
  static constexpr std::string_view kPrefix = "pm_decline_";
  static constexpr std::string_view kSuffix = "_then_ok";
  if (!token.starts_with(kPrefix) || !token.ends_with(kSuffix) || token.size() <= kPrefix.size() + kSuffix.size()) {
    return std::nullopt;
  }
  const std::string digits = token.substr(kPrefix.size(), token.size() - kPrefix.size() - kSuffix.size());
  if (digits.size() > 4 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int count = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    count = count * 10 + (c - '0');
  }
  if (count > kMaxTestDeclines) return std::nullopt;
  return Behaviour{count};
}

std::string charge_key(const std::string& idempotency_key) { return "c" + idempotency_key; }

std::string sequence_key(int64_t sequence) {
  std::string key(1, 's');
  put_be(key, static_cast<uint64_t>(sequence), 8);
  return key;
}

// Lengths first, so no (tenant, method, invoice) shares a key with another: invoice
// ids are unique within a tenant only.
std::string attempts_key(const std::string& tenant_id, const std::string& payment_method,
                         const std::string& invoice_id) {
  std::string key(1, 'a');
  put_be(key, tenant_id.size(), 4);
  key += tenant_id;
  put_be(key, payment_method.size(), 4);
  return key + payment_method + invoice_id;
}

std::string encode_count(int64_t count) {
  std::string out;
  put_be(out, static_cast<uint64_t>(count), 8);
  return out;
}

// A stored counter; nothing stored is zero, anything but 8 bytes is corruption.
std::optional<int64_t> decode_count(const std::optional<std::string>& stored) {
  if (!stored) return 0;
  if (stored->size() != 8) return std::nullopt;
  return static_cast<int64_t>(get_be(*stored, 0, 8));
}

// The charge is checked before it is written and after it is read back (pair
// assertions): a stored answer that does not hold is never handed out as a result.
std::string charge_problem(const TestCharge& charge) {
  if (charge.sequence < 1) return "sequence below 1";
  if (auto problem = request_problem(charge.request); !problem.empty()) return problem;
  if (charge.result.payment_id.empty()) return "no payment id";
  if (charge.result.status == ChargeStatus::pending) return "a test charge is never pending";
  if ((charge.result.status == ChargeStatus::declined) == charge.result.failure_code.empty()) {
    return "a failure code belongs to declined charges, and only to them";
  }
  return "";
}

std::string encode(const TestCharge& charge) {
  Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
  object.set("sequence", charge.sequence);
  object.set("idempotency_key", charge.request.idempotency_key);
  object.set("tenant_id", charge.request.tenant_id);
  object.set("invoice_id", charge.request.invoice_id);
  object.set("amount_minor", charge.request.amount_minor);
  object.set("currency", charge.request.currency);
  object.set("payment_method", charge.request.payment_method);
  object.set("attempt", charge.request.attempt);
  object.set("status", to_string(charge.result.status));
  object.set("payment_id", charge.result.payment_id);
  object.set("failure_code", charge.result.failure_code);
  object.set("failure_message", charge.result.failure_message);
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

std::expected<TestCharge, std::string> decode(const std::string& text) {
  TestCharge charge;
  try {
    auto object = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    charge.sequence = object->getValue<int64_t>("sequence");
    charge.request.idempotency_key = object->getValue<std::string>("idempotency_key");
    charge.request.tenant_id = object->getValue<std::string>("tenant_id");
    charge.request.invoice_id = object->getValue<std::string>("invoice_id");
    charge.request.amount_minor = object->getValue<int64_t>("amount_minor");
    charge.request.currency = object->getValue<std::string>("currency");
    charge.request.payment_method = object->getValue<std::string>("payment_method");
    charge.request.attempt = object->getValue<int>("attempt");
    auto status = parse_charge_status(object->getValue<std::string>("status"));
    if (!status) return std::unexpected("unknown status");
    charge.result.status = *status;
    charge.result.payment_id = object->getValue<std::string>("payment_id");
    charge.result.failure_code = object->getValue<std::string>("failure_code");
    charge.result.failure_message = object->getValue<std::string>("failure_message");
  } catch (const std::exception& e) {
    return std::unexpected(std::string(e.what()));
  }
  if (auto problem = charge_problem(charge); !problem.empty()) return std::unexpected(problem);
  return charge;
}

bool same_charge(const ChargeRequest& a, const ChargeRequest& b) {
  return a.tenant_id == b.tenant_id && a.invoice_id == b.invoice_id && a.amount_minor == b.amount_minor &&
         a.currency == b.currency && a.payment_method == b.payment_method;
}

}  // namespace

TestPaymentProvider::TestPaymentProvider(store::RocksStore& store, TestProviderOptions options)
    : store_(store), options_(options) {}

ChargeOutcome TestPaymentProvider::charge(const ChargeRequest& request) {
  if (auto problem = request_problem(request); !problem.empty()) return std::unexpected(invalid_request(problem));
  try {
    std::lock_guard lock(mutex_);
    auto stored = store_.get(kTestProviderFamily, charge_key(request.idempotency_key));
    if (!stored) return std::unexpected(unavailable("test provider store: " + stored.error().message));
    if (*stored) {
      auto earlier = decode(**stored);
      if (!earlier) {
        return std::unexpected(unavailable("test provider: the charge stored under idempotency key \"" +
                                           request.idempotency_key + "\" is unreadable: " + earlier.error()));
      }
      if (!same_charge(earlier->request, request)) {
        return std::unexpected(invalid_request("idempotency key \"" + request.idempotency_key +
                                               "\" was used for another charge (invoice \"" +
                                               earlier->request.invoice_id + "\")"));
      }
      return earlier->result;
    }

    const auto behaviour = behaviour_of(request.payment_method);
    if (!behaviour) {
      return std::unexpected(invalid_request("payment_method: the test provider does not know the token \"" +
                                             request.payment_method +
                                             "\" (pm_ok, pm_decline, pm_decline_<N>_then_ok)"));
    }
    auto batch = store_.batch();
    const std::string attempts_at = attempts_key(request.tenant_id, request.payment_method, request.invoice_id);
    auto attempts_stored = batch.get(kTestProviderFamily, attempts_at);
    auto count_stored = batch.get(kTestProviderFamily, kCountKey);
    if (!attempts_stored) return std::unexpected(unavailable("test provider store: " + attempts_stored.error().message));
    if (!count_stored) return std::unexpected(unavailable("test provider store: " + count_stored.error().message));
    const auto attempts = decode_count(*attempts_stored);
    const auto count = decode_count(*count_stored);
    if (!attempts || !count) return std::unexpected(unavailable("test provider store: a counter is unreadable"));

    TestCharge charge;
    charge.sequence = *count + 1;
    charge.request = request;
    charge.result.payment_id = "pay_test_" + std::to_string(charge.sequence);
    const int64_t this_attempt = *attempts + 1;
    const bool decline = behaviour->declines_first < 0 || this_attempt <= behaviour->declines_first;
    if (decline) {
      charge.result.status = ChargeStatus::declined;
      charge.result.failure_code = "card_declined";
      charge.result.failure_message = "the card was declined (test provider, " + request.payment_method + ")";
    } else {
      charge.result.status = ChargeStatus::succeeded;
    }
    if (auto problem = charge_problem(charge); !problem.empty()) {
      return std::unexpected(unavailable("test provider: refusing to record a malformed charge: " + problem));
    }
    batch.put(kTestProviderFamily, charge_key(request.idempotency_key), encode(charge));
    batch.put(kTestProviderFamily, sequence_key(charge.sequence), request.idempotency_key);
    batch.put(kTestProviderFamily, attempts_at, encode_count(this_attempt));
    batch.put(kTestProviderFamily, kCountKey, encode_count(charge.sequence));
    // Recorded before answered: a crash after this write answers the retry from the
    // record; a crash before it leaves no charge at all.
    if (auto written = store_.write(batch, options_.sync_writes); !written) {
      return std::unexpected(unavailable("test provider store: " + written.error().message));
    }
    return charge.result;
  } catch (const std::exception& e) {
    return std::unexpected(unavailable(std::string("test provider: ") + e.what()));
  }
}

store::Result<int64_t> TestPaymentProvider::charges_count() {
  auto stored = store_.get(kTestProviderFamily, kCountKey);
  if (!stored) return std::unexpected(stored.error());
  auto count = decode_count(*stored);
  if (!count) return log::fail(log::ErrorCode::io, "test provider: the charge counter is unreadable");
  return *count;
}

store::Result<std::vector<TestCharge>> TestPaymentProvider::charges(size_t limit) {
  std::vector<std::string> keys;
  auto scanned = store_.scan(kTestProviderFamily, "s", "", limit, [&](std::string_view, std::string_view value) {
    keys.emplace_back(value);
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  std::vector<TestCharge> out;
  out.reserve(keys.size());
  for (const auto& key : keys) {
    auto stored = store_.get(kTestProviderFamily, charge_key(key));
    if (!stored) return std::unexpected(stored.error());
    if (!*stored) return log::fail(log::ErrorCode::io, "test provider: charge \"" + key + "\" is listed but not stored");
    auto charge = decode(**stored);
    if (!charge) return log::fail(log::ErrorCode::io, "test provider: charge \"" + key + "\" is unreadable: " + charge.error());
    out.push_back(std::move(*charge));
  }
  return out;
}

}  // namespace tenantry::payments
