from autopatchelf.cli import run

run()
