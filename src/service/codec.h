// Binary encoding of the market service's events and snapshots: little-endian fixed-width
// integers, IEEE-754 doubles bit for bit (so a replayed state is identical, not merely close),
// strings as a u32 length and bytes. The decoder never reads past its input: on any overrun it
// remembers the failure and returns zeros, and the caller checks ok() once at the end.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace critmin::service {

class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v)); }
  void i32(std::int32_t v) { put(static_cast<std::uint32_t>(v)); }
  void f64(double v) { put(std::bit_cast<std::uint64_t>(v)); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    out_.append(v);
  }

 private:
  template <typename T>
  void put(T v) {
    static_assert(std::endian::native == std::endian::little,
                  "critmin's codec assumes little endian");
    char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    out_.append(bytes, sizeof(T));
  }
  std::string& out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  std::uint8_t u8() { return get<std::uint8_t>(); }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(get<std::uint64_t>()); }
  std::int32_t i32() { return static_cast<std::int32_t>(get<std::uint32_t>()); }
  double f64() { return std::bit_cast<double>(get<std::uint64_t>()); }
  bool boolean() { return u8() != 0; }
  std::string str() {
    const std::uint32_t size = u32();
    if (!ok_ || size > in_.size() - position_) {
      ok_ = false;
      return {};
    }
    std::string out(in_.substr(position_, size));
    position_ += size;
    return out;
  }
  // A count of items that each take at least `min_item_bytes`: fails (and returns 0) when the
  // input cannot hold that many, so a corrupt count never makes the caller allocate gigabytes.
  std::size_t count(std::size_t min_item_bytes) {
    const std::uint64_t n = u64();
    if (!ok_ || (min_item_bytes > 0 && n > (in_.size() - position_) / min_item_bytes)) {
      ok_ = false;
      return 0;
    }
    return static_cast<std::size_t>(n);
  }
  void fail() { ok_ = false; }
  bool ok() const { return ok_; }
  bool at_end() const { return position_ == in_.size(); }

 private:
  template <typename T>
  T get() {
    if (!ok_ || in_.size() - position_ < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    T v;
    std::memcpy(&v, in_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return v;
  }
  std::string_view in_;
  std::size_t position_ = 0;
  bool ok_ = true;
};

}  // namespace critmin::service
