#include "app/bench/bench_support.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "app/log_options.h"
#include "connectors/log/embedded/embedded_log.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::bench {

// Resident set size from /proc/self/statm (pages * page size).
int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * 4096;
}

std::string tenant_id(int index) { return "tenant-" + std::to_string(index); }

v1::CommandEnvelope registration(int index, const std::string& plan) {
  v1::RegisterTenant body;
  body.set_slug("bench-" + std::to_string(index));
  body.set_display_name("Bench tenant " + std::to_string(index));
  body.set_plan(plan);
  body.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
  body.set_region("eu-west-1");
  body.mutable_admin_contact()->set_name("Ops");
  body.mutable_admin_contact()->set_email("ops@example.com");
  v1::CommandEnvelope command;
  command.set_command_id("register-" + std::to_string(index));
  command.set_tenant_id(tenant_id(index));
  command.set_command_type("tenantry.v1.RegisterTenant");
  command.set_payload(body.SerializeAsString());
  return command;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

std::string base64url(std::string_view raw) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const unsigned char c : raw) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      out.push_back(kAlphabet[(bits >> (count - 6)) & 63]);
      count -= 6;
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  return out;
}

std::string mint_token(const std::string& secret, const std::string& roles_json) {
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." +
                            base64url(R"({"sub":"bench","roles":)" + roles_json + R"(,"exp":)" +
                                      std::to_string(now_s + 3600) + "}");
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_bytes);
  return input + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_bytes));
}

std::unique_ptr<log::EventLog> open_bench_log(const std::string& path, int partitions, std::string* error) {
  log::embedded::EmbeddedOptions options;
  options.path = path;
  auto log = log::embedded::open_embedded_log(options);
  if (!log) {
    *error = log.error().message;
    return nullptr;
  }
  for (const auto& topic : app::tenantry_topics(partitions)) {
    if (auto created = (*log)->create_topic(topic); !created) {
      *error = created.error().message;
      return nullptr;
    }
  }
  return std::move(*log);
}

double append_pipelined(log::EventLog& log, std::vector<log::Record> records, std::string* error, size_t batch) {
  constexpr int kInFlight = 8;
  std::mutex mutex;
  std::condition_variable cv;
  int pending = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t done = 0; done < records.size();) {
    log::AppendRequest request;
    for (size_t i = 0; i < batch && done < records.size(); ++i, ++done) request.records.push_back(std::move(records[done]));
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return pending < kInFlight; });
      ++pending;
    }
    log.append_async(std::move(request), [&](log::Result<log::AppendResult> result) {
      std::lock_guard lock(mutex);
      if (!result && error->empty()) *error = result.error().message;
      --pending;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return pending == 0; });
  return static_cast<double>(records.size()) /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tenantry::bench
