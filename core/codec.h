// The binary form of fulcrum's value types, shared by the wire protocol, the journal and
// the simulator's record pipe: each type is written by walking its field list
// (`fields(v, x)`, see core/job_spec.h), so the three never drift apart.
//
// Layout, little-endian: integers and doubles as their bytes (a double's exact bits, so
// NaN payloads and -0.0 survive), bool as a u8 (0 or 1), an enum as a u8, a string as a
// u32 length then its bytes, a list as a u32 count then its items, a map as a u32 count
// then (key, value) pairs, a struct as its fields in list order.
//
// BinaryReader never throws and never trusts a count: a read past the end, a count larger
// than the bytes left, a bool other than 0/1 or an enum beyond its maximum marks it
// failed with the reason, and further reads do nothing. Check failed() once at the end.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace fulcrum {

static_assert(std::endian::native == std::endian::little, "the binary codec copies little-endian bytes");

class BinaryWriter {
 public:
  // `schema`: write the field lists as of that schema (core/job_spec.h, kSchema), leaving
  // out later fields; tests write old records with it. The default writes everything.
  explicit BinaryWriter(std::string& out, std::uint8_t schema = 255) : out_(out), schema_(schema) {}

  template <class T> void field(std::string_view /*name*/, const T& v) { put(v); }
  template <class T> void field_since(std::uint8_t since, std::string_view /*name*/, const T& v) {
    if (schema_ >= since) put(v);
  }
  template <class E> void enumeration_since(std::uint8_t since, std::string_view name, const E& e, E max) {
    if (schema_ >= since) enumeration(name, e, max);
  }
  template <class E> void enumeration(std::string_view /*name*/, const E& e, E /*max*/) {
    put(static_cast<std::uint8_t>(e));
  }
  // Writes a whole struct through its field list.
  template <class T> void put_struct(const T& v) { fields(*this, const_cast<T&>(v)); }

  template <class T> void put(const T& v) {
    if constexpr (std::is_arithmetic_v<T>) {
      char bytes[sizeof(T)];
      std::memcpy(bytes, &v, sizeof(T));
      out_.append(bytes, sizeof(T));
    } else if constexpr (std::is_same_v<T, std::string>) {
      put(static_cast<std::uint32_t>(v.size()));
      out_ += v;
    } else if constexpr (requires { v.begin(); }) {  // a list or a map
      put(static_cast<std::uint32_t>(v.size()));
      for (const auto& item : v) put(item);
    } else if constexpr (requires { v.first; v.second; }) {
      put(v.first);
      put(v.second);
    } else {
      put_struct(v);
    }
  }

 private:
  std::string& out_;
  std::uint8_t schema_;
};

class BinaryReader {
 public:
  // `schema`: the field-list schema the bytes were written with (core/job_spec.h,
  // kSchema); fields added after it keep their defaults. The default reads everything.
  explicit BinaryReader(std::string_view in, std::uint8_t schema = 255) : in_(in), schema_(schema) {}

  void set_schema(std::uint8_t schema) { schema_ = schema; }

  template <class T> void field(std::string_view /*name*/, T& v) { get(v); }
  template <class T> void field_since(std::uint8_t since, std::string_view /*name*/, T& v) {
    if (schema_ >= since) get(v);
  }
  template <class E> void enumeration_since(std::uint8_t since, std::string_view name, E& e, E max) {
    if (schema_ >= since) enumeration(name, e, max);
  }
  template <class E> void enumeration(std::string_view name, E& e, E max) {
    std::uint8_t b = 0;
    get(b);
    if (b > static_cast<std::uint8_t>(max)) return fail(std::string(name) + ": value " + std::to_string(b) + " out of range");
    e = static_cast<E>(b);
  }
  template <class T> void get_struct(T& v) { fields(*this, v); }

  template <class T> void get(T& v) {
    if (failed_) return;
    if constexpr (std::is_same_v<T, bool>) {
      std::uint8_t b = 0;
      get(b);
      if (b > 1) return fail("a boolean is neither 0 nor 1");
      v = b == 1;
    } else if constexpr (std::is_arithmetic_v<T>) {
      if (in_.size() - pos_ < sizeof(T)) return fail("truncated");
      std::memcpy(&v, in_.data() + pos_, sizeof(T));
      pos_ += sizeof(T);
    } else if constexpr (std::is_same_v<T, std::string>) {
      const std::uint32_t n = count();
      if (failed_) return;
      v.assign(in_.data() + pos_, n);
      pos_ += n;
    } else if constexpr (requires { v.emplace_back(); }) {
      const std::uint32_t n = count();
      v.clear();
      v.reserve(n);
      for (std::uint32_t i = 0; i < n && !failed_; ++i) get(v.emplace_back());
    } else if constexpr (requires { v.try_emplace(std::declval<typename T::key_type>()); }) {
      const std::uint32_t n = count();
      v.clear();
      for (std::uint32_t i = 0; i < n && !failed_; ++i) {
        typename T::key_type key{};
        typename T::mapped_type value{};
        get(key);
        get(value);
        v.insert_or_assign(std::move(key), std::move(value));
      }
    } else {
      get_struct(v);
    }
  }

  void fail(std::string why) {
    if (!failed_) error_ = std::move(why);
    failed_ = true;
  }
  bool failed() const { return failed_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }
  const std::string& error() const { return error_; }

 private:
  // Every item takes at least one byte: a count beyond the bytes left is a lie, refused
  // before it can make us allocate.
  std::uint32_t count() {
    std::uint32_t n = 0;
    get(n);
    if (failed_) return 0;
    if (n > in_.size() - pos_) {
      fail("a count runs past the end");
      return 0;
    }
    return n;
  }

  std::string_view in_;
  std::uint8_t schema_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

}  // namespace fulcrum
