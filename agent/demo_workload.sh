#!/bin/sh
# The demo workload for `make demo`: one small shell job that touches every event class the
# tracer records (exec, files, mmap, link, lock, capability, sockets, connect/bind, ptrace,
# signals, mount/umount) so the printed profiles show each section. Writes under $1.
set -e
work=${1:-/var/tmp/varmor-demo}
mkdir -p "$work"
cd "$work"
echo "hello" > notes.txt                 # write + create
echo "again" >> notes.txt                # append
cat notes.txt /etc/hostname > /dev/null # read
ln -f notes.txt notes.lnk                # link
flock notes.txt true                     # lock
unshare -Un true                         # capability sys_admin, unshare syscall
/usr/bin/python3 -S -c '
import socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
cli = socket.socket(); cli.connect(srv.getsockname()); cli.close(); srv.close()
'
if command -v strace > /dev/null; then strace -o /dev/null true; fi
sleep 5 & kill -TERM $! || true          # signal
unshare -m sh -c 'mkdir -p mnt && mount -t tmpfs none mnt && umount mnt'
rm -f notes.lnk
echo "demo workload done"
