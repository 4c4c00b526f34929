import type { StartService } from '../../lib/service';
export const startConcert: StartService = async () => 0;
