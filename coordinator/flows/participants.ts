// Typed clients of the participant services the flows call.
import type { GrpcServiceName } from '../../lib/config';
import type { AsyncClient, ChannelPool, Transport } from '../../lib/grpc/client';
import type { CallerSigner } from '../../lib/trust/caller';
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

/** The participants' clients, calling as the coordinator over `transport`. */
export function participantClients(
  channels: ChannelPool,
  targets: Record<GrpcServiceName, string>,
  as: CallerSigner,
  transport: Transport,
): Participants {
  return {
    concert: channels.client(ConcertServiceService, targets.concert, as, undefined, transport),
    reservation: channels.client(
      ReservationServiceService,
      targets.reservation,
      as,
      undefined,
      transport,
    ),
    payment: channels.client(PaymentServiceService, targets.payment, as, undefined, transport),
    point: channels.client(PointServiceService, targets.point, as, undefined, transport),
  };
}
