// Private to discovery (discover.cpp): the recursive walk of an input folder.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aiportrait {

// What walks left out without refusing it, for one warning each.
struct WalkNotes {
    std::map<std::string, int> unreadable;    // extension -> photos in formats we cannot read (HEIC, raw, GIF, ...)
    std::vector<std::string> linked_folders;  // symbolic links to folders: not followed (no loops)
    int own_outputs = 0;                      // images a sidecar beside them marks as this tool's output
};

// Recursively lists images under `dir`, sorted by path, not entering folders `excluded` says
// (the output folder inside the input) nor a gallery's thumbnail folder. Each entry is (path, why
// it is refused: empty for an image to do), so refused files keep their place among the others:
// a folder that cannot be listed, image-named links that lead nowhere, FIFOs and devices.
std::vector<std::pair<std::filesystem::path, std::string>> walk_images(
    const std::filesystem::path& dir, const std::function<bool(const std::filesystem::path&)>& excluded,
    WalkNotes& notes);

std::string lower_case(std::string s);

}  // namespace aiportrait
