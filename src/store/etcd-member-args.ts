/** The command line of an etcd member, shared by the managed member (payment_channel_storage_server) and the tests' clusters. */

/** What one member of a new etcd cluster is told on its command line (the tests' clusters start the same way). */
export function etcdMemberArgs(m: {
  name: string;
  dataDir: string;
  clientUrl: string;
  peerUrl: string;
  /** `name=peerUrl,…` of every member. */
  cluster: string;
  token: string;
  logLevel: string;
}): string[] {
  return [
    "--name",
    m.name,
    "--data-dir",
    m.dataDir,
    "--listen-client-urls",
    m.clientUrl,
    "--advertise-client-urls",
    m.clientUrl,
    "--listen-peer-urls",
    m.peerUrl,
    "--initial-advertise-peer-urls",
    m.peerUrl,
    "--initial-cluster",
    m.cluster,
    "--initial-cluster-token",
    m.token,
    // protocol/config.md#etcd-member: the cluster state is always "new"; an existing data dir makes etcd ignore it.
    "--initial-cluster-state",
    "new",
    "--logger",
    "zap",
    "--log-level",
    m.logLevel,
  ];
}
