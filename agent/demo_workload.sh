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
/usr/bin/python3 -S -c '
import ctypes, os, signal                # ptrace: attach to a child blocked on a pipe, then kill it
libc = ctypes.CDLL(None, use_errno=True)
r1, w1 = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w1, b"x"); os.read(r2, 1); os._exit(0)
os.read(r1, 1)
assert libc.ptrace(ctypes.c_long(16), ctypes.c_long(pid), None, None) == 0  # PTRACE_ATTACH
os.waitpid(pid, 0); os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
'
sh -c 'trap "exit 0" TERM; kill -TERM $$; sleep 5'  # signal (to itself: no race with a child)
unshare -m sh -c 'mkdir -p mnt && mount -t tmpfs none mnt && umount mnt'
rm -f notes.lnk
echo "demo workload done"
