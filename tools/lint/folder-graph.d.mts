export declare const CORE_FLOOR: Record<string, string[]>
export declare function importsOf(src: string): [string, string][]
export declare function folderCycles(edges: [string, string][]): { folders: string[]; edges: string[] }[]
export declare function floorBreaches(edges: [string, string][], floor?: Record<string, string[]>): string[]
