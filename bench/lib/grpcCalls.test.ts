import { expect } from 'chai';
import { grpcCallCount } from './grpcCalls';

describe('grpcCallCount', () => {
  it("sums the duration histogram's counts over every label set, and nothing else", () => {
    const text = [
      '# HELP grpc_server_duration_seconds Unary gRPC calls handled',
      '# TYPE grpc_server_duration_seconds histogram',
      'grpc_server_duration_seconds_bucket{le="0.001",service="queue",method="ValidateToken",code="OK"} 7',
      'grpc_server_duration_seconds_sum{service="queue",method="ValidateToken",code="OK"} 0.25',
      'grpc_server_duration_seconds_count{service="queue",method="ValidateToken",code="OK"} 12',
      'grpc_server_duration_seconds_count{service="point",method="UsePoints",code="ABORTED"} 3',
      'grpc_server_duration_seconds_count_total 100',
      'http_server_duration_seconds_count{method="POST",route="/x",code="201"} 40',
      '',
    ].join('\n');
    expect(grpcCallCount(text)).to.equal(15);
  });

  it('is zero when no call was handled yet', () => {
    expect(grpcCallCount('# HELP nothing here\n')).to.equal(0);
  });
});
