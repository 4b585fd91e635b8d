#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>

#include "connectors/log/envelope_codec.h"

using namespace tenantry::log;

namespace {
tenantry::v1::EventEnvelope sample() {
  tenantry::v1::EventEnvelope e;
  e.set_event_id("0190d9a4-0000-7000-8000-000000000001");
  e.set_tenant_id("acme");
  e.set_sequence(1);
  e.set_event_type("tenantry.v1.TenantRegistered");
  e.set_schema_version(1);
  e.set_writer_epoch(3);
  e.set_payload(std::string("\x0a\x04" "acme", 6));
  return e;
}
}  // namespace

TEST_CASE("a sealed envelope ends with its hash over every byte before it", "[envelope]") {
  auto envelope = sample();
  const std::string stored = seal_envelope(envelope);
  REQUIRE(stored.size() > kHashTrailerBytes);
  CHECK(static_cast<unsigned char>(stored[stored.size() - 34]) == 0x7A);
  CHECK(static_cast<unsigned char>(stored[stored.size() - 33]) == 0x20);
  CHECK(envelope.hash() == sha256(std::string_view(stored).substr(0, stored.size() - 34)));
  CHECK(stored.substr(stored.size() - 32) == envelope.hash());

  auto opened = open_envelope(stored);
  REQUIRE(opened.has_value());
  CHECK(opened->tenant_id() == "acme");
  CHECK(opened->hash() == envelope.hash());
}

TEST_CASE("sealing is deterministic and ignores a stale hash", "[envelope]") {
  auto a = sample();
  auto b = sample();
  b.set_hash("stale");
  CHECK(seal_envelope(a) == seal_envelope(b));
}

TEST_CASE("any altered byte is detected", "[envelope]") {
  auto envelope = sample();
  const std::string stored = seal_envelope(envelope);
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string altered = stored;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    auto opened = open_envelope(altered);
    INFO("byte " << i);
    CHECK_FALSE(opened.has_value());
  }
}

TEST_CASE("opening reports what is wrong", "[envelope]") {
  CHECK(open_envelope(std::string("\xff\xff\xff", 3)).error().failure == OpenFailure::not_an_envelope);
  auto envelope = sample();
  envelope.clear_hash();
  const std::string unsealed = envelope.SerializeAsString();
  CHECK(open_envelope(unsealed).error().failure == OpenFailure::missing_hash);
}

TEST_CASE("fields a reader does not know are kept and covered by the hash", "[envelope]") {
  // A newer writer adds field 99 (a string); an older reader must verify and keep it.
  auto envelope = sample();
  envelope.clear_hash();
  std::string body;
  {
    google::protobuf::io::StringOutputStream raw(&body);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    envelope.SerializeToCodedStream(&coded);
  }
  body += std::string("\x9a\x06\x05" "extra", 8);  // field 99, wire type 2, "extra"
  std::string stored = body + "\x7a\x20" + sha256(body);
  auto opened = open_envelope(stored);
  REQUIRE(opened.has_value());
  CHECK(opened->GetReflection()->GetUnknownFields(*opened).field_count() == 1);
  CHECK(opened->SerializeAsString().find("extra") != std::string::npos);
}

TEST_CASE("event ids are UUIDv7 ordered by time", "[envelope]") {
  std::mt19937_64 random(7);
  const std::string early = make_uuid_v7(1700000000000, random);
  const std::string late = make_uuid_v7(1700000000001, random);
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  CHECK(std::regex_match(early, shape));
  CHECK(std::regex_match(late, shape));
  CHECK(early < late);
  CHECK(early.substr(0, 13) == "018bcfe5-6800");  // 1700000000000 ms = 0x018BCFE56800
}

TEST_CASE("event ids carry the time and both random draws, digit for digit", "[envelope]") {
  std::mt19937_64 random(11);
  for (const int64_t ms : {int64_t{0}, int64_t{1700000000000}, int64_t{0xFFFFFFFFFFFF}}) {
    std::mt19937_64 draws = random;  // the same two draws, to spell the id out independently
    const uint64_t a = draws();
    const uint64_t b = draws();
    char expected[37];
    std::snprintf(expected, sizeof expected, "%012llx7%03llx%04llx%012llx", static_cast<unsigned long long>(ms),
                  static_cast<unsigned long long>(a & 0x0FFF),
                  static_cast<unsigned long long>(((b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull) >> 48),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
    std::string id = make_uuid_v7(ms, random);
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[18] == '-');
    CHECK(id[23] == '-');
    std::erase(id, '-');
    CHECK(id == expected);
  }
}
