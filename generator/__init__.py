"""Pure core of varmor-py: events → behaviour model → AppArmor and seccomp profiles."""
