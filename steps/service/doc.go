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
//   - readers of the host's own files: ports and enable switches from
//     local.conf, dispatcher.cnf, job_controller.cnf, adm.conf and the web
//     servers' magnus.conf ([ReadPorts], [ReadLocalConf]), lenient as
//     docs/FORMATS.md §2.1, §2.6 and §2.7 ask;
//   - journaled wizard steps ([Steps]) whose Check reads pid files,
//     /proc/PID/cmdline and /proc/PID/exe and probes ports, so a stop is done
//     when the process is gone and its port refuses connections, and a start
//     when the port answers. A pid file naming an unrelated live process (a
//     reused pid) is reported and never taken for the service; this package
//     never sends a signal to anything.
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
