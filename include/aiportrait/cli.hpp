// Command line -> Config. Flags are defined once here; every error names its flag.
#pragma once

#include "aiportrait/config.hpp"

#include <string>
#include <vector>

namespace aiportrait {

struct Command {
    enum class Kind { run, identity, gallery, version, exit } kind = Kind::run;
    Config config;                         // for run (validated) and identity (models, detector)
    std::vector<std::string> photos;       // for identity: the two photos; for gallery: the folder
    int exit_code = 0;                     // for exit (help, version, usage error)
};

// Parses argv. Usage errors are printed to stderr and returned as Kind::exit with code 2;
// --help prints to stdout and exits 0; --version is Kind::version (main prints what the
// installation holds).
Command parse_command_line(int argc, char** argv);

}  // namespace aiportrait
