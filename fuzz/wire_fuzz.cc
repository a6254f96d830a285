// The wire decoder on arbitrary bytes: as one payload, and as a stream of frames fed in
// arbitrary pieces. Either decodes or returns an Error; never crashes, hangs or overreads.
// A payload that decodes must encode back to a frame that decodes to the same type.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "real/wire.h"

using namespace fulcrum::real;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto message = decode_payload(bytes); message.ok()) {
    std::string frame;
    encode_frame(*message, frame);
    auto again = decode_payload(std::string_view(frame).substr(4));
    if (!again.ok() || again->index() != message->index()) __builtin_trap();
  }
  FrameReader reader(1 << 16);
  std::size_t offset = 0;
  std::size_t piece = 1;
  while (offset < size) {
    const std::size_t n = std::min(piece, size - offset);
    reader.feed(bytes.data() + offset, n);
    offset += n;
    piece = piece * 3 % 17 + 1;  // uneven pieces, deterministic
    for (;;) {
      auto next = reader.next();
      if (!next.ok()) return 0;  // a bad frame ends the connection
      if (!next->has_message) break;
    }
  }
  return 0;
}
