#include "connectors/log/embedded/record_codec.h"

#include <cstring>

namespace tenantry::log::embedded {

namespace {

void put_u32_be(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

void put_u64_be(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

uint64_t get_be(std::string_view bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool get_varint(std::string_view bytes, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (at >= bytes.size()) return false;
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_varint(out, bytes.size());
  out.append(bytes);
}

bool get_bytes(std::string_view bytes, size_t& at, std::string& out) {
  uint64_t length = 0;
  if (!get_varint(bytes, at, length) || length > bytes.size() - at) return false;
  out.assign(bytes.data() + at, length);
  at += length;
  return true;
}

}  // namespace

std::string record_key(uint32_t topic_id, int32_t partition, int64_t offset) {
  std::string key;
  key.reserve(kRecordKeyBytes);
  put_u32_be(key, topic_id);
  put_u32_be(key, static_cast<uint32_t>(partition));
  put_u64_be(key, static_cast<uint64_t>(offset));
  return key;
}

std::string partition_prefix(uint32_t topic_id, int32_t partition) {
  std::string key;
  put_u32_be(key, topic_id);
  put_u32_be(key, static_cast<uint32_t>(partition));
  return key;
}

int64_t offset_of_record_key(std::string_view key) {
  return static_cast<int64_t>(get_be(key, 8, 8));
}

std::string encode_record_value(const Record& record) {
  size_t size = kTimestampBytes + record.key.size() + record.value.size() + 16;
  for (const auto& header : record.headers) size += header.key.size() + header.value.size() + 4;
  std::string out;
  out.reserve(size);
  out.append(kTimestampBytes, '\0');
  put_bytes(out, record.key);
  put_bytes(out, record.value);
  put_varint(out, record.headers.size());
  for (const auto& header : record.headers) {
    put_bytes(out, header.key);
    put_bytes(out, header.value);
  }
  return out;
}

void stamp_record_value(std::string& encoded, int64_t timestamp_ms) {
  const auto value = static_cast<uint64_t>(timestamp_ms);
  for (size_t i = 0; i < kTimestampBytes; ++i) encoded[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

bool decode_record_value(std::string_view bytes, StoredRecord& out) {
  if (bytes.size() < kTimestampBytes) return false;
  uint64_t timestamp = 0;
  for (size_t i = 0; i < kTimestampBytes; ++i) {
    timestamp |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  out.timestamp_ms = static_cast<int64_t>(timestamp);
  size_t at = kTimestampBytes;
  if (!get_bytes(bytes, at, out.key) || !get_bytes(bytes, at, out.value)) return false;
  uint64_t count = 0;
  if (!get_varint(bytes, at, count) || count > bytes.size()) return false;
  out.headers.clear();
  out.headers.resize(count);
  for (auto& header : out.headers) {
    if (!get_bytes(bytes, at, header.key) || !get_bytes(bytes, at, header.value)) return false;
  }
  return at == bytes.size();
}

std::string group_offset_key(std::string_view group, uint32_t topic_id, int32_t partition) {
  std::string key(group);
  key.push_back('\0');
  put_u32_be(key, topic_id);
  put_u32_be(key, static_cast<uint32_t>(partition));
  return key;
}

std::string encode_u64_be(uint64_t value) {
  std::string out;
  put_u64_be(out, value);
  return out;
}

std::optional<uint64_t> decode_u64_be(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  return get_be(bytes, 0, 8);
}

std::string topic_meta_key(std::string_view name) { return "topic/" + std::string(name); }

std::string encode_topic_meta(uint32_t topic_id, int32_t partitions) {
  std::string out;
  put_u32_be(out, topic_id);
  put_u32_be(out, static_cast<uint32_t>(partitions));
  return out;
}

bool decode_topic_meta(std::string_view bytes, uint32_t& topic_id, int32_t& partitions) {
  if (bytes.size() != 8) return false;
  topic_id = static_cast<uint32_t>(get_be(bytes, 0, 4));
  partitions = static_cast<int32_t>(get_be(bytes, 4, 4));
  return partitions > 0;
}

}  // namespace tenantry::log::embedded
