#include <catch2/catch.hpp>

#include "audit/checkpoint.h"

using namespace tenantry::audit;

namespace {

Checkpoint sample() {
  Checkpoint checkpoint;
  checkpoint.topic = "tenantry.events";
  checkpoint.partition = 3;
  checkpoint.tree_size = 8;
  checkpoint.root = *hash_from_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  checkpoint.timestamp_us = 1718000000123456;
  return checkpoint;
}

PrivateKey new_key() {
  auto key = PrivateKey::generate();
  REQUIRE(key.has_value());
  return *key;
}

std::string replace_line(std::string text, size_t line, const std::string& replacement) {
  size_t start = 0;
  for (size_t i = 0; i < line; ++i) start = text.find('\n', start) + 1;
  const size_t end = text.find('\n', start);
  return text.replace(start, end - start, replacement);
}

}  // namespace

TEST_CASE("checkpoint: text form is stable and verifies with the public key alone", "[audit][checkpoint]") {
  const auto key = new_key();
  auto text = sign_checkpoint(sample(), key, "tenantry-test");
  REQUIRE(text.has_value());
  // The documented layout: body lines, an empty line, one signature line.
  CHECK(text->starts_with("tenantry/tenantry.events/3\n8\nXcnaeacGWamtVZy3Ad7Zoqudgjqt"
                          "L0lgz+Nw7/RgQyg=\ntimestamp_us 1718000000123456\n\n\xE2\x80\x94 tenantry-test "));
  CHECK(checkpoint_body(sample()) ==
        "tenantry/tenantry.events/3\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp_us 1718000000123456\n");

  // Only the public key's PEM crosses to the auditor.
  auto public_key = PublicKey::from_pem(key.public_key().pem());
  REQUIRE(public_key.has_value());
  auto opened = verify_checkpoint(*text, *public_key);
  REQUIRE(opened.has_value());
  CHECK(*opened == sample());

  // The private key survives a PEM round trip and still signs for the same public key.
  auto reloaded = PrivateKey::from_pem(key.pem());
  REQUIRE(reloaded.has_value());
  CHECK(reloaded->public_key().raw() == key.public_key().raw());
  CHECK(key.public_key().raw().size() == 32);
}

TEST_CASE("checkpoint: a forged checkpoint re-signed with another key is refused", "[audit][checkpoint]") {
  const auto platform = new_key();
  const auto forger = new_key();
  Checkpoint forged = sample();
  forged.tree_size = 7;  // hiding the last event
  // Same key name, so only the key id and signature can tell.
  auto text = sign_checkpoint(forged, forger, "tenantry-test");
  REQUIRE(text.has_value());
  auto opened = verify_checkpoint(*text, platform.public_key());
  REQUIRE_FALSE(opened.has_value());
  CHECK_THAT(opened.error().message, Catch::Contains("no signature by the given public key"));

  // A forger who copies the platform's key id into the line still fails the signature.
  auto genuine = sign_checkpoint(sample(), platform, "tenantry-test");
  REQUIRE(genuine.has_value());
  const std::string genuine_blob = *base64_decode(genuine->substr(genuine->rfind(' ') + 1, 88));
  const std::string forged_blob = *base64_decode(text->substr(text->rfind(' ') + 1, 88));
  std::string spliced = text->substr(0, text->rfind(' ') + 1) +
                        base64_encode(genuine_blob.substr(0, 4) + forged_blob.substr(4)) + "\n";
  auto spliced_opened = verify_checkpoint(spliced, platform.public_key());
  REQUIRE_FALSE(spliced_opened.has_value());
  CHECK_THAT(spliced_opened.error().message, Catch::Contains("does not verify"));
}

TEST_CASE("checkpoint: an altered size, root, origin or timestamp is refused", "[audit][checkpoint]") {
  const auto key = new_key();
  const std::string text = *sign_checkpoint(sample(), key, "tenantry-test");
  Checkpoint other_root = sample();
  other_root.root[31] ^= 1;
  const std::string root_line = checkpoint_body(other_root).substr(checkpoint_body(other_root).find("\n8\n") + 3, 44);
  for (const auto& altered : {replace_line(text, 1, "9"), replace_line(text, 1, "7"), replace_line(text, 2, root_line),
                              replace_line(text, 0, "tenantry/tenantry.events/4"),
                              replace_line(text, 3, "timestamp_us 1718000000123457")}) {
    INFO(altered);
    REQUIRE(altered != text);
    auto opened = verify_checkpoint(altered, key.public_key());
    REQUIRE_FALSE(opened.has_value());
    CHECK_THAT(opened.error().message, Catch::Contains("does not verify"));
  }
}

TEST_CASE("checkpoint: malformed input is a clear error, never a verified checkpoint", "[audit][checkpoint]") {
  const auto key = new_key();
  const std::string text = *sign_checkpoint(sample(), key, "tenantry-test");
  struct Case {
    std::string input;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "does not end with a newline"},
      {text.substr(0, text.size() - 10), "does not end with a newline"},
      {text.substr(0, text.find("\n\n") + 2), "no signature by the given public key"},
      {replace_line(text, 1, "08"), "line 2: tree size"},
      {replace_line(text, 1, "-1"), "line 2: tree size"},
      {replace_line(text, 1, "99999999999999999999"), "line 2: tree size"},
      {replace_line(text, 2, "not base64"), "line 3: root hash"},
      {replace_line(text, 2, "AAAA"), "line 3: root hash"},
      {replace_line(text, 3, "timestamp 5"), "line 4"},
      {replace_line(text, 0, "other/tenantry.events/3"), "line 1"},
      {replace_line(text, 0, "tenantry/tenantry.events/x"), "line 1"},
      {replace_line(text, 0, "tenantry/bad topic/3"), "line 1"},
      {"tenantry/tenantry.events/3\n8\n\n\xE2\x80\x94 a AAAA\n", "lines"},
      {text.substr(0, text.find("\n\n") + 2) + "- tenantry-test AAAA\n", "does not start with"},
      {text + "\n", "does not start with"},
      {std::string(70000, 'a') + "\n", "larger than 64 KiB"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    auto opened = verify_checkpoint(c.input, key.public_key());
    REQUIRE_FALSE(opened.has_value());
    CHECK_THAT(opened.error().message, Catch::Contains(c.message));
  }
  // Keys: a non-PEM, an RSA key and a private key where a public one is wanted.
  CHECK_FALSE(PublicKey::from_pem("hello"));
  CHECK_FALSE(PublicKey::from_pem(key.pem()));
  CHECK_FALSE(PrivateKey::from_pem(key.public_key().pem()));
  CHECK_FALSE(sign_checkpoint(sample(), key, "has space"));
  CHECK_FALSE(sign_checkpoint(sample(), key, "a+b"));
}

TEST_CASE("checkpoint: base64 is strict and canonical", "[audit][checkpoint]") {
  for (const std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("Zm8"));
  CHECK_FALSE(base64_decode("Zm9="));   // non-zero bits under the padding
  CHECK_FALSE(base64_decode("Z=8="));
  CHECK_FALSE(base64_decode("Zm8=Zm8="));
  CHECK_FALSE(base64_decode("Zm 8"));
}
