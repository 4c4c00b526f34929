// Typed clients of the participant services the flows call.
import type { GrpcServiceName } from '../../lib/config';
import type { AsyncClient, ChannelPool } from '../../lib/grpc/client';
import { ConcertServiceService } from '../../gen/boxoffice/concert/v1/concert';
import { PaymentServiceService } from '../../gen/boxoffice/payment/v1/payment';
import { PointServiceService } from '../../gen/boxoffice/point/v1/point';
import { ReservationServiceService } from '../../gen/boxoffice/reservation/v1/reservation';

export interface Participants {
  concert: AsyncClient<typeof ConcertServiceService>;
  reservation: AsyncClient<typeof ReservationServiceService>;
  payment: AsyncClient<typeof PaymentServiceService>;
  point: AsyncClient<typeof PointServiceService>;
}

export function participantClients(
  channels: ChannelPool,
  targets: Record<GrpcServiceName, string>,
): Participants {
  return {
    concert: channels.client(ConcertServiceService, targets.concert),
    reservation: channels.client(ReservationServiceService, targets.reservation),
    payment: channels.client(PaymentServiceService, targets.payment),
    point: channels.client(PointServiceService, targets.point),
  };
}
