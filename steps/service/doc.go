// Package service stops and starts an iPlanet Messaging Server host around an
// upgrade, under whichever regime controls its processes: plain scripts,
// daemontools supervision, Sun Cluster 2.2, Sun Cluster 3.x or Veritas Cluster
// Server.
//
// Three layers, each usable alone:
//
//   - pure builders of exact command lines, one type per regime ([Plain],
//     [Daemontools], [SunCluster22], [SunCluster3], [Veritas]); they touch
//     nothing and are table-tested argv for argv;
//   - readers of the host's own files, through the host model (steps/host):
//     ports, listen addresses and enable switches from local.conf/msg.conf,
//     dispatcher.cnf, job_controller.cnf, adm.conf and the web servers'
//     magnus.conf ([ReadConfig], host.Services), lenient as docs/FORMATS.md
//     §2.1, §2.6 and §2.7 ask; whether the host has a watcher at all (6.x
//     only, host-facts F-SVC-004);
//   - journaled wizard steps ([PreUpgrade], [PostUpgrade], [Start], ...) that
//     judge a service by evidence a real host has (host-facts F-PROC-001,
//     F-PROC-002): its processes in the process table, found by executable
//     under the server root and by the documented program names, and the
//     sockets listening on the address and port its configuration names
//     (/proc on Linux, ps and netstat elsewhere). A stop is done when no
//     process of the service lives and nothing listens there; a start when
//     its socket listens (a service without a port: when its process
//     lives). Evidence that cannot be read is unknown, and unknown is never
//     down: the documented stop command runs and the proof is taken again.
//     This package reads no pid file, probes no port to judge a service,
//     and never sends a signal to anything.
//
// The procedures come from the seeds: the upgrade appendix (seed 003: stop the
// dispatcher first, then the other services; keep the Directory Server up; the
// HA sections; the strict backout order), the 6.3 Administration Guide §4.4
// (seed 000: start order, enable switches, HA refuses a plain stop-msg, the
// Sun Cluster 3 and Veritas command tables, a crashed process means stop
// everything and start again), daemontools (seed 001: svc -d/-u, down files,
// svstat) and the Sun Cluster 2.2 data service (seed 004: the fault monitor
// restarts a stopped daemon unless hareg -n ran first; hareg -y afterwards).
package service
