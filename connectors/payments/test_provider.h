// The built-in test provider: a PaymentProvider whose outcome follows the payment
// method token, for tests, benchmarks and test-mode tenants.
//   pm_ok...                 (any token starting so) always succeeds
//   pm_decline               always declines: failure_code "card_declined"
//   pm_decline_<N>_then_ok   per invoice, the first N distinct charges (distinct
//                            idempotency keys) decline, every later one succeeds; N <= 1000
//   anything else            invalid_request naming the token
// It keeps the provider's side of the idempotency contract durably, as a real provider
// must: every charge is recorded under its key before it is answered, so a repeated
// key, also after a restart, gets the recorded answer and never a second charge. A key
// sent again with another tenant, invoice, amount, currency or payment method is an
// invalid_request (the attempt number is informational and not compared).
//
// State (store family kTestProviderFamily):
//   'c' idempotency key                    -> the charge (JSON: request and result)
//   's' sequence (8 bytes BE)              -> idempotency key, charges in order
//   'a' len(tenant) tenant len(method) method invoice (lengths 4 BE) -> charges so far of that method on that tenant's invoice (8 BE)
//   'n'                                    -> charges so far (8 BE); payment ids are pay_test_<n>
#pragma once

#include <mutex>
#include <vector>

#include "connectors/payments/payment_provider.h"
#include "connectors/store/rocks_store.h"

namespace tenantry::payments {

// The caller opens the store with this family among its families.
inline constexpr const char* kTestProviderFamily = "payments_test";
inline constexpr int kMaxTestDeclines = 1000;  // the largest N of pm_decline_<N>_then_ok

struct TestProviderOptions {
  // fsync each charge before answering it (what a provider owes); off only where a
  // benchmark measures the caller rather than the disk (a process crash still loses
  // nothing; a machine crash may).
  bool sync_writes = true;
};

struct TestCharge {
  int64_t sequence = 0;  // 1, 2, 3... in the order charged
  ChargeRequest request;
  ChargeResult result;
};

class TestPaymentProvider final : public PaymentProvider {
 public:
  explicit TestPaymentProvider(store::RocksStore& store, TestProviderOptions options = {});

  // Thread-safe; charges are decided one at a time.
  ChargeOutcome charge(const ChargeRequest& request) override;
  std::string name() const override { return "test"; }

  // Charges recorded (each idempotency key once, whatever its outcome).
  store::Result<int64_t> charges_count();
  // The first `limit` charges in the order they were made.
  store::Result<std::vector<TestCharge>> charges(size_t limit);

 private:
  store::RocksStore& store_;
  TestProviderOptions options_;
  std::mutex mutex_;
};

}  // namespace tenantry::payments
