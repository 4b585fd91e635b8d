// open_envelope_fields against protobuf's own parser: the accepted-history rules
// read envelopes with it, so it must reach exactly open_envelope's verdict (not an
// envelope, no hash trailer, a hash that does not match) and, when the envelope
// opens, the fields protobuf parses. Checked on mutations of real envelopes and on
// generated wire format with every quirk the parser has an opinion on. Seeded; a
// failing case prints its seed, index and bytes.
#include <catch2/catch.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "connectors/log/envelope_codec.h"

using namespace tenantry;
using log::EnvelopeFields;
using log::OpenFailure;

namespace {

// Protobuf logs every string field it refuses as invalid UTF-8; thousands of them
// here, all expected.
struct QuietProtobuf {
  QuietProtobuf() : previous(google::protobuf::SetLogHandler(nullptr)) {}
  ~QuietProtobuf() { google::protobuf::SetLogHandler(previous); }
  google::protobuf::LogHandler* previous;
};

// What open_envelope concluded before open_envelope_fields existed: protobuf parses
// the bytes, then the trailer's shape, then the hash field against the SHA-256.
struct Reference {
  std::optional<OpenFailure> failure;
  v1::EventEnvelope envelope;
};

Reference reference_open(std::string_view stored) {
  Reference out;
  if (!out.envelope.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    out.failure = OpenFailure::not_an_envelope;
  } else if (stored.size() < log::kHashTrailerBytes ||
             static_cast<unsigned char>(stored[stored.size() - 34]) != 0x7A ||
             static_cast<unsigned char>(stored[stored.size() - 33]) != 0x20) {
    out.failure = OpenFailure::missing_hash;
  } else if (out.envelope.hash() != log::sha256(stored.substr(0, stored.size() - 34))) {
    out.failure = OpenFailure::hash_mismatch;
  }
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (const char c : bytes) {
    text.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    text.push_back(kDigits[static_cast<unsigned char>(c) & 0x0F]);
  }
  return text;
}

// True when open_envelope_fields agrees with the reference on `stored`.
bool agrees(std::string_view stored, std::string* why) {
  const Reference expected = reference_open(stored);
  const auto actual = log::open_envelope_fields(stored);
  if (expected.failure) {
    if (actual) {
      *why = "opened, protobuf says failure " + std::to_string(static_cast<int>(*expected.failure));
      return false;
    }
    if (actual.error().failure != *expected.failure) {
      *why = "failure " + std::to_string(static_cast<int>(actual.error().failure)) + ", protobuf says " +
             std::to_string(static_cast<int>(*expected.failure));
      return false;
    }
    return true;
  }
  if (!actual) {
    *why = "failure " + std::to_string(static_cast<int>(actual.error().failure)) + ", protobuf opens it";
    return false;
  }
  const EnvelopeFields& fields = *actual;
  const auto& envelope = expected.envelope;
  if (fields.tenant_id != envelope.tenant_id() || fields.sequence != envelope.sequence() ||
      fields.writer_epoch != envelope.writer_epoch() || fields.previous_hash != envelope.previous_hash() ||
      fields.hash != envelope.hash()) {
    *why = "fields differ from protobuf's";
    return false;
  }
  return true;
}

// How many cases ended each way (protobuf's verdict), so that a test can show it
// reached both sides of every check.
struct Tally {
  int opened = 0;
  int not_an_envelope = 0;
  int missing_hash = 0;
  int hash_mismatch = 0;
};

void check_agrees(std::string_view stored, uint64_t seed, size_t index, Tally* tally = nullptr) {
  std::string why;
  const bool same = agrees(stored, &why);
  if (!same) {
    INFO("seed " << seed << " case " << index << ": " << why << "\nbytes " << hex(stored));
    CHECK(same);
  }
  if (tally != nullptr) {
    const auto failure = reference_open(stored).failure;
    if (!failure) ++tally->opened;
    else if (*failure == OpenFailure::not_an_envelope) ++tally->not_an_envelope;
    else if (*failure == OpenFailure::missing_hash) ++tally->missing_hash;
    else ++tally->hash_mismatch;
  }
}

std::string sealed_sample(std::mt19937_64& random) {
  v1::EventEnvelope e;
  e.set_event_id("0190d9a4-0000-7000-8000-00000000000" + std::to_string(random() % 10));
  e.set_tenant_id("tenant-" + std::to_string(random() % 1000));
  e.set_sequence(1 + random() % 100000);
  e.set_event_type("tenantry.v1.TenantConfigured");
  e.set_schema_version(1);
  e.set_occurred_at_us(1795651200000000LL + static_cast<int64_t>(random() % 1000000000));
  e.set_recorded_at_us(1795651200000150LL);
  e.mutable_actor()->set_kind("user");
  e.mutable_actor()->set_id("user-\xc3\xa9t\xc3\xa9");  // "user-été": UTF-8 beyond ASCII
  e.mutable_actor()->set_tenant_id(e.tenant_id());
  e.mutable_actor()->set_role("tenant_admin");
  e.set_command_id("0190d9a4-0000-7000-8000-0000000000aa");
  e.set_correlation_id("0190d9a4-0000-7000-8000-0000000000bb");
  e.set_causation_id("0190d9a4-0000-7000-8000-0000000000cc");
  e.set_writer_epoch(1 + random() % 5);
  e.set_previous_hash(log::sha256("previous"));
  std::string payload;
  for (size_t i = 0, n = 20 + random() % 200; i < n; ++i) payload.push_back(static_cast<char>(random()));
  e.set_payload(payload);
  return log::seal_envelope(e);
}

std::string with_trailer(std::string body) {
  const std::string digest = log::sha256(body);
  body += "\x7a\x20";
  body += digest;
  return body;
}

// ---------------------------------------------------------------------------
// Generated wire format.

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// A varint of `value` in `bytes` bytes (padded with continuation bytes: overlong
// when longer than needed), possibly longer than the parser takes.
void put_long_varint(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes - 1; ++i) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value & 0x7F));
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : random_(seed) {}

  std::string message(int depth, bool envelope) {
    std::string out;
    for (size_t n = pick(8), i = 0; i < n; ++i) field(out, depth, envelope);
    return out;
  }

 private:
  size_t pick(size_t n) { return static_cast<size_t>(random_() % n); }
  bool chance(int percent) { return pick(100) < static_cast<size_t>(percent); }

  uint32_t field_number() {
    switch (pick(10)) {
      case 0: return 0;
      case 1: return static_cast<uint32_t>(16 + pick(100));
      case 2: return (1u << 29) - 1;  // the largest
      default: return static_cast<uint32_t>(1 + pick(15));
    }
  }

  void tag(std::string& out, uint32_t number, uint32_t wire_type) {
    const uint32_t value = (number << 3) | wire_type;
    if (chance(5)) {
      put_long_varint(out, value, 5);  // 5 bytes: the most a tag may take
    } else if (chance(2)) {
      put_long_varint(out, value, 6);  // too long
    } else if (chance(3)) {
      // 5 bytes whose last carries bits beyond 32 (protobuf drops them)
      put_long_varint(out, value, 4);
      out.back() = static_cast<char>(out.back() | 0x80);
      out.push_back(static_cast<char>(0x10 | pick(0x70)));
    } else {
      put_varint(out, value);
    }
  }

  std::string text() {
    static const std::vector<std::string> kSamples = {
        "", "acme", "tenant-000001-deadbeef", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",  // valid
        "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",    // overlong, surrogate, too high
        "\x80", "\xc3", "\xe2\x82", "\xff", std::string("\0", 1)};
    std::string out;
    for (size_t n = pick(4), i = 0; i < n; ++i) {
      if (chance(70)) {
        out += kSamples[pick(kSamples.size())];
      } else {
        for (size_t k = pick(12); k > 0; --k) out.push_back(static_cast<char>(random_()));
      }
    }
    return out;
  }

  void length_delimited(std::string& out, const std::string& bytes) {
    if (chance(3)) {
      put_long_varint(out, bytes.size(), 5);  // overlong but allowed
    } else if (chance(2)) {
      put_long_varint(out, bytes.size(), 6);  // too long for a size
    } else if (chance(3)) {
      put_varint(out, bytes.size() + 1 + pick(3));  // runs past the end
    } else if (chance(2) && !bytes.empty()) {
      put_varint(out, bytes.size() - 1);  // leaves a byte over
    } else {
      put_varint(out, bytes.size());
    }
    out += bytes;
  }

  void field(std::string& out, int depth, bool envelope) {
    const uint32_t number = field_number();
    uint32_t wire_type = static_cast<uint32_t>(pick(8));
    if (chance(50)) {
      // Mostly what the schema says.
      if (envelope) {
        wire_type = (number == 3 || number == 5 || number == 6 || number == 7 || number == 12) ? 0 : 2;
      } else {
        wire_type = 2;
      }
    }
    tag(out, number, wire_type);
    switch (wire_type) {
      case 0: {
        const uint64_t value = random_() >> pick(64);
        if (chance(5)) {
          put_long_varint(out, value, 10);
        } else if (chance(3)) {
          put_long_varint(out, value, 11);
        } else if (chance(3)) {
          put_long_varint(out, value, 9);
          out.push_back(static_cast<char>(0x01 | (pick(0x7F) & 0x7E)));  // 10th byte with bits beyond 64
        } else {
          put_varint(out, value);
        }
        break;
      }
      case 1:
        for (size_t k = chance(90) ? 8 : pick(8); k > 0; --k) out.push_back(static_cast<char>(random_()));
        break;
      case 2: {
        std::string bytes;
        if (envelope && number == 8 && depth < 3 && chance(70)) {
          bytes = message(depth + 1, false);  // an Actor
        } else if (chance(60)) {
          bytes = text();
        } else if (chance(50)) {
          bytes = message(depth + 1, false);  // an unknown message: opaque bytes
        } else {
          for (size_t k = pick(40); k > 0; --k) bytes.push_back(static_cast<char>(random_()));
        }
        length_delimited(out, bytes);
        break;
      }
      case 3: {
        if (depth < 4) out += message(depth + 1, false);
        if (chance(85)) {
          tag(out, chance(90) ? number : number + 1, 4);  // its end, or another's
        }
        break;
      }
      case 4: break;  // an end-group tag with no group
      case 5:
        for (size_t k = chance(90) ? 4 : pick(4); k > 0; --k) out.push_back(static_cast<char>(random_()));
        break;
      default: break;  // wire types 6 and 7
    }
  }

  std::mt19937_64 random_;
};

// `levels` groups of field 99 inside each other, inside `actor` levels of Actor.
std::string nested_groups(int levels, bool in_actor) {
  std::string groups;
  for (int i = 0; i < levels; ++i) put_varint(groups, (99u << 3) | 3);
  for (int i = 0; i < levels; ++i) put_varint(groups, (99u << 3) | 4);
  std::string body;
  put_varint(body, (2u << 3) | 2);
  put_varint(body, 4);
  body += "acme";
  if (in_actor) {
    put_varint(body, (8u << 3) | 2);
    put_varint(body, groups.size());
  }
  body += groups;
  return with_trailer(body);
}

}  // namespace

TEST_CASE("envelope fields: what protobuf opens, with the same fields, on real envelopes", "[envelope]") {
  std::mt19937_64 random(20261126);
  for (size_t i = 0; i < 50; ++i) {
    const std::string stored = sealed_sample(random);
    check_agrees(stored, 20261126, i);
    auto fields = log::open_envelope_fields(stored);
    REQUIRE(fields.has_value());
    CHECK_FALSE(fields->tenant_id.empty());
    CHECK(fields->hash.size() == 32);
  }
}

TEST_CASE("envelope fields: mutated envelopes get protobuf's verdict", "[envelope]") {
  QuietProtobuf quiet;
  const uint64_t seed = 7;
  std::mt19937_64 random(seed);
  Tally tally;
  for (size_t i = 0; i < 20000; ++i) {
    std::string stored = sealed_sample(random);
    const bool reseal = random() % 2 == 0;  // so that what the body says is compared, not only the hash
    std::string body = reseal ? stored.substr(0, stored.size() - 34) : stored;
    for (size_t edits = 1 + random() % 3; edits > 0 && !body.empty(); --edits) {
      const size_t at = random() % body.size();
      switch (random() % 6) {
        case 0: body[at] = static_cast<char>(body[at] ^ (1 << (random() % 8))); break;
        case 1: body[at] = static_cast<char>(std::vector<int>{0x00, 0x7F, 0x80, 0xFF, 0x7A, 0x0B, 0x0C}[random() % 7]); break;
        case 2: body.resize(at); break;
        case 3: body.insert(at, 1, static_cast<char>(random())); break;
        case 4: body.erase(at, 1 + random() % 4); break;
        default: body.insert(at, body.substr(at, random() % 16)); break;
      }
    }
    check_agrees(reseal ? with_trailer(body) : body, seed, i, &tally);
  }
  CHECK(tally.opened > 1000);
  CHECK(tally.not_an_envelope > 1000);
  CHECK(tally.missing_hash > 20);
  CHECK(tally.hash_mismatch > 1000);
}

TEST_CASE("envelope fields: generated wire format gets protobuf's verdict", "[envelope]") {
  QuietProtobuf quiet;
  const uint64_t seed = 11;
  Generator generator(seed);
  std::mt19937_64 random(seed);
  Tally tally;
  for (size_t i = 0; i < 30000; ++i) {
    const std::string body = generator.message(0, true);
    check_agrees(random() % 4 == 0 ? body : with_trailer(body), seed, i, &tally);
  }
  CHECK(tally.opened > 3000);
  CHECK(tally.not_an_envelope > 3000);
  CHECK(tally.missing_hash > 100);
}

TEST_CASE("envelope fields: nesting is limited as protobuf limits it", "[envelope]") {
  QuietProtobuf quiet;
  for (const int levels : {1, 98, 99, 100, 101, 150}) {
    for (const bool in_actor : {false, true}) {
      INFO(levels << " groups deep, in an actor: " << in_actor);
      check_agrees(nested_groups(levels, in_actor), 0, static_cast<size_t>(levels));
    }
  }
  CHECK(log::open_envelope_fields(nested_groups(100, false)).has_value());
  CHECK_FALSE(log::open_envelope_fields(nested_groups(101, false)).has_value());
  CHECK(log::open_envelope_fields(nested_groups(99, true)).has_value());
  CHECK_FALSE(log::open_envelope_fields(nested_groups(100, true)).has_value());
}

TEST_CASE("envelope fields: every string field must be UTF-8, as protobuf requires", "[envelope]") {
  QuietProtobuf quiet;
  // Each one- and two-byte string, and three- and four-byte ones around every
  // boundary, in a string field of the envelope and of the actor, and in a bytes field.
  std::vector<std::string> texts;
  for (int a = 0; a < 256; ++a) {
    texts.push_back(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) texts.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  const int edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (int a = 0xC0; a < 256; ++a) {
    for (const int b : edges) {
      for (const int c : edges) {
        texts.push_back({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        for (const int d : edges) {
          texts.push_back({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)});
        }
      }
    }
  }
  size_t index = 0;
  Tally tally;
  for (const auto& text : texts) {
    const uint32_t other_string = std::vector<uint32_t>{1, 4, 9, 10, 11}[index % 5];
    for (const uint32_t field : {2u, other_string, 14u}) {
      std::string body;
      put_varint(body, (field << 3) | 2);
      put_varint(body, text.size());
      body += text;
      check_agrees(with_trailer(body), 0, index, &tally);
    }
    std::string actor;
    put_varint(actor, (static_cast<uint32_t>(1 + index % 4) << 3) | 2);
    put_varint(actor, text.size());
    actor += text + "padding";  // UTF-8 checked past an ASCII run too
    std::string body;
    put_varint(body, (8u << 3) | 2);
    put_varint(body, actor.size());
    body += actor;
    check_agrees(with_trailer(body), 0, index, &tally);
    ++index;
  }
  CHECK(tally.opened > 10000);
  CHECK(tally.not_an_envelope > 10000);
}

TEST_CASE("envelope fields: the scan knows EventEnvelope and Actor as envelope.proto declares them", "[envelope]") {
  // If this fails, envelope.proto changed: teach open_envelope_fields the new field
  // (a string field must be checked as UTF-8), then change this table.
  using google::protobuf::FieldDescriptor;
  auto shape = [](const google::protobuf::Descriptor* descriptor) {
    std::vector<std::pair<int, int>> fields;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* field = descriptor->field(i);
      CHECK_FALSE(field->is_repeated());
      fields.emplace_back(field->number(), static_cast<int>(field->type()));
    }
    std::sort(fields.begin(), fields.end());
    return fields;
  };
  const int kString = FieldDescriptor::TYPE_STRING;
  const int kBytes = FieldDescriptor::TYPE_BYTES;
  CHECK(shape(v1::EventEnvelope::descriptor()) ==
        std::vector<std::pair<int, int>>{{1, kString}, {2, kString}, {3, FieldDescriptor::TYPE_UINT64},
                                         {4, kString}, {5, FieldDescriptor::TYPE_UINT32},
                                         {6, FieldDescriptor::TYPE_INT64}, {7, FieldDescriptor::TYPE_INT64},
                                         {8, FieldDescriptor::TYPE_MESSAGE}, {9, kString}, {10, kString},
                                         {11, kString}, {12, FieldDescriptor::TYPE_UINT64}, {13, kBytes},
                                         {14, kBytes}, {15, kBytes}});
  CHECK(shape(v1::Actor::descriptor()) ==
        std::vector<std::pair<int, int>>{{1, kString}, {2, kString}, {3, kString}, {4, kString}});
  CHECK(v1::EventEnvelope::descriptor()->FindFieldByNumber(8)->message_type() == v1::Actor::descriptor());
}
