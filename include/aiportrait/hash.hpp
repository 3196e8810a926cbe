// SHA-256 of files and byte buffers, for provenance in sidecars and model pinning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace aiportrait {

// Lower-case hex digest of a byte buffer.
std::string sha256_hex(const void* data, std::size_t size);

// Lower-case hex digest of a file's contents, streamed. Throws std::runtime_error naming the
// path if the file cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace aiportrait
