// vodfs: the composition root. Everything happens in vodfs::cli::Main.
#include "cli/commands.h"

int main(int argc, char** argv) { return vodfs::cli::Main(argc, argv); }
