// Decode stage internals (decode.cpp, decode_header.cpp): what the first bytes of a file say.
#pragma once

#include "aiportrait/decode.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aiportrait {

// The one place that knows each readable format's signature (peek_header, exif_orientation and
// the first-bytes check of read_input_bytes all ask it).
SourceFormat sniff(const std::vector<std::uint8_t>& bytes);

// The name of a well-known format this build cannot decode ("GIF", "HEIF", ...), or "".
std::string unsupported_format_name(const std::vector<std::uint8_t>& bytes);

}  // namespace aiportrait
