// The embedded engine's on-disk layout. Kept apart from the engine so the layout is
// stated (and tested) in one place.
//
// records column family:  key = topic id (u32 BE) | partition (u32 BE) | offset (u64 BE)
//                          value = timestamp_ms (u64 LE, fixed) | key | value | headers
//                          (lengths and counts as varints)
// offsets column family:   key = group | 0x00 | topic id (u32 BE) | partition (u32 BE)
//                          value = next offset (u64 BE)
// default column family:   "topic/" + name -> topic id (u32 BE) | partitions (u32 BE)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/log/event_log.h"

namespace tenantry::log::embedded {

inline constexpr size_t kRecordKeyBytes = 16;
inline constexpr size_t kTimestampBytes = 8;

std::string record_key(uint32_t topic_id, int32_t partition, int64_t offset);
// The 8-byte prefix shared by every record key of one partition.
std::string partition_prefix(uint32_t topic_id, int32_t partition);
int64_t offset_of_record_key(std::string_view key);

// Encodes everything but the timestamp, which the committer fills in at append time.
std::string encode_record_value(const Record& record);
void stamp_record_value(std::string& encoded, int64_t timestamp_ms);
// False when the bytes are not a record value (a corrupt store).
bool decode_record_value(std::string_view bytes, StoredRecord& out);

std::string group_offset_key(std::string_view group, uint32_t topic_id, int32_t partition);
std::string encode_u64_be(uint64_t value);
std::optional<uint64_t> decode_u64_be(std::string_view bytes);

std::string topic_meta_key(std::string_view name);
std::string encode_topic_meta(uint32_t topic_id, int32_t partitions);
bool decode_topic_meta(std::string_view bytes, uint32_t& topic_id, int32_t& partitions);

}  // namespace tenantry::log::embedded
