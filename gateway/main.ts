import type { StartService } from '../lib/service';
export const startGateway: StartService = async () => 0;
