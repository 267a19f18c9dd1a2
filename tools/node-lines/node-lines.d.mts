export declare const NODE_LINES: { 22: string; 24: string; 26: string }
export declare const SUITE_LINES: number[]
export declare function nodeBinary(line: number): string
